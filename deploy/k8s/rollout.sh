#!/bin/sh
# Rolls HBS out in order: the platform (PostgreSQL, Kafka), Kafka's users, ACLs and topics, the
# migrations, then the services. Usage: deploy/k8s/rollout.sh, with kubectl pointed at the cluster
# and the secrets of docs/operations.md "First install" created beforehand.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
ns=hbs
# Jobs are immutable: the previous run's are removed so this run's can be applied.
kubectl -n "$ns" delete job kafka-setup hbs-migrate --ignore-not-found
kubectl apply -k "$here/platform"
kubectl -n "$ns" rollout status statefulset/postgres --timeout=10m
kubectl -n "$ns" rollout status statefulset/kafka --timeout=10m
kubectl -n "$ns" wait --for=condition=complete job/kafka-setup --timeout=15m
# Before any service runs the new image: its migrations, once.
kubectl apply -k "$here/migrate"
kubectl -n "$ns" wait --for=condition=complete job/hbs-migrate --timeout=15m
kubectl apply -k "$here/services"
for service in identity grades signing portal; do
  kubectl -n "$ns" rollout status "deployment/$service" --timeout=10m
done
