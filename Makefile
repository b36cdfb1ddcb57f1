# The README's commands. Every target first installs what is missing (deploy/scripts/bootstrap.sh).
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PYTEST := $(UV) run --frozen pytest
# Two test processes (pytest-xdist), each module whole on one of them (`--dist loadfile`; the root
# conftest.py's scheduler keeps the modules sharing the sealed class together, MODULE_GROUPS): each
# process has its own stack, broker, token and databases. `make test PARALLEL=` runs in one process.
PARALLEL ?= -n 2 --dist loadfile --durations=20
# The PostgreSQL rerun waits on its database more than on the CPU: three processes (259 s against
# 307 s for two, measured side by side on a clean clone; no Chromium in that run).
PARALLEL_PG ?= -n 3 --dist loadfile --durations=20
DATA ?= var/demo
# make backup / make restore: where backups go and the key that encrypts them. Both live beside the
# demo's data, not in it, so that `make clean-demo` then `make restore` works.
BACKUPS ?= var/backups
BACKUP_KEY ?= $(or $(HBS_BACKUP_KEY_FILE),var/backup.key)
BACKUP_CLI := $(UV) run --frozen python -m hbs_shared.backup

.PHONY: bootstrap demo test test-security test-postgres test-faults test-kafka-login lint format clean-demo bench bench-identity bench-grades bench-signing bench-sign-all bench-events bench-yearend docs verify-audit screenshots bench-exchange backup restore

bootstrap:
	@deploy/scripts/bootstrap.sh

## make demo: the whole system on its embedded defaults, with the demo school; Ctrl-C stops it.
demo: bootstrap
	@$(UV) run --frozen python -m hbs_devtools.stack --data-dir $(DATA)

## make test: the whole suite: unit tests, and integration tests against the real broker,
## SoftHSM2 and SQLite.
test: bootstrap
	@$(PYTEST) $(PARALLEL)

## make test-security: the security suite (tests/security) with the long fuzz run; `make test`
## runs the same suite with a bounded fuzz (HBS_FUZZ_EXAMPLES=3 per operation).
test-security: bootstrap
	@HBS_FUZZ_EXAMPLES=$${HBS_FUZZ_EXAMPLES:-100} $(PYTEST) -s tests/security

## make test-postgres: the database-backed tests again, on PostgreSQL (browser tests excepted:
## each has an HTTP twin that runs here; and the page modules, PAGES in tests/conftest.py and
## services/portal/tests/conftest.py: the database work behind each page is rerun by the
## services' tests and the whole-stack flows).
test-postgres: bootstrap
	@HBS_TEST_DATABASE=postgresql $(PYTEST) $(PARALLEL_PG) -m "db and not browser and not pages"

## make test-kafka-login: a service's Kafka login against a Kafka of your own that accepts SCRAM
## (HBS_TEST_KAFKA_BOOTSTRAP, HBS_TEST_KAFKA_SECURITY_PROTOCOL, …_SASL_MECHANISM, …_SASL_USERNAME,
## …_SASL_PASSWORD; docs/operations.md "Kafka logins"). The development machines have none.
test-kafka-login: bootstrap
	@test -n "$$HBS_TEST_KAFKA_BOOTSTRAP" || { echo "set HBS_TEST_KAFKA_BOOTSTRAP (and the login) first"; exit 2; }
	@$(PYTEST) -rs shared/tests/test_messaging_external_kafka.py

## make test-faults: a year end of 4 classes through the real stack while 24 faults hit it (kill -9 of
## signing, grades, a batch worker; broker restarts), then every record judged from the databases and
## PDFs (issue 12). `make test` runs a bounded slice (1 class, 4 faults). HBS_FAULTS_SEED repeats a run;
## HBS_FAULTS_CLASSES / _STUDENTS / _COUNT / _KINDS change it.
test-faults: bootstrap
	@HBS_FAULTS_CLASSES=$${HBS_FAULTS_CLASSES:-4} HBS_FAULTS_STUDENTS=$${HBS_FAULTS_STUDENTS:-6} \
	HBS_FAULTS_COUNT=$${HBS_FAULTS_COUNT:-24} HBS_FAULTS_TIMEOUT=$${HBS_FAULTS_TIMEOUT:-2400} \
	HBS_FAULTS_STEP_TIMEOUT=$${HBS_FAULTS_STEP_TIMEOUT:-600} \
	$(PYTEST) -s tests/faults

## make bench-identity / bench-grades / bench-signing: the performance targets of issues 3, 4 and 5.
## make bench-grades DB=postgresql: the same on SQLite and then PostgreSQL, side by side (issue 12).
bench-identity: bootstrap
	@$(UV) run --frozen python -m hbs_identity.bench

bench-grades: bootstrap
	@$(if $(DB),HBS_TEST_DATABASE=$(DB) )$(UV) run --frozen python -m hbs_grades.bench

bench-signing: bootstrap
	@$(UV) run --frozen python -m hbs_signing.bench

# A teacher with 14 sheets signs them all with one PIN, beside the same signed one PIN each (real stack).
bench-sign-all: bootstrap
	@HBS_SIGN_ALL_CLASSES=$(or $(CLASSES),7) $(UV) run --frozen pytest tests/test_sheet_sign_all.py -q -s

## make bench-events: the outbox relay's rate on a 2,000-row backlog and one event's latency
## (outbox row committed → consumer's effect committed), through the real embedded broker (issue 12).
bench-events: bootstrap
	@$(if $(DB),HBS_TEST_DATABASE=$(DB) )$(UV) run --frozen python -m hbs_devtools.bench_events

## make bench-yearend: the demo school's year end (36 classes) through the running stack, then step 4
## on the same records through the bare batch signer (issue 12); CLASSES=4 for a quick run,
## HBS_TEST_DATABASE=postgresql (or DB=postgresql) on PostgreSQL. A benchmark, not a timed test.
bench-yearend: bootstrap
	@$(if $(DB),HBS_TEST_DATABASE=$(DB) )$(UV) run --frozen python -m hbs_devtools.bench_yearend --classes $(or $(CLASSES),36)

## make bench-exchange: seal CLASSES classes' records (default 12: the demo's grade 12, 491 students)
## through the running stack, then export every student's graduation package (issue 13).
bench-exchange: bootstrap
	@$(UV) run --frozen python -m hbs_devtools.bench_exchange --classes $(or $(CLASSES),12)$(if $(STUDENTS), --students $(STUDENTS))

bench: bench-identity bench-grades bench-signing bench-events

lint: bootstrap
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy shared/src services/identity/src services/grades/src services/signing/src services/portal/src devtools/src examples

## make screenshots: the README's pictures (docs/screenshots/*.png) from a fresh demo school in headless
## Chromium; SMALL=1 for the small demo school (quicker, fewer classes in the progress view).
screenshots: bootstrap
	@$(UV) run --frozen python -m hbs_devtools.screenshots --out docs/screenshots$(if $(SMALL), --small)

## make docs: regenerate docs/asyncapi.json from the event contracts.
docs: bootstrap
	@$(UV) run --frozen python -m hbs_shared.events.catalog docs/asyncapi.json

format: bootstrap
	@$(UV) run --frozen ruff format .
	@$(UV) run --frozen ruff check --fix .

## make verify-audit: check the hash chain of each service's audit trail (issue 11): the demo's
## databases in $(DATA), or HBS_IDENTITY_DATABASE_URL / HBS_GRADES_DATABASE_URL / HBS_SIGNING_DATABASE_URL when set. Fails
## naming the first broken link (service, entry number, what is wrong).
verify-audit: bootstrap
	@status=0; \
	HBS_IDENTITY_DATA_DIR=$(DATA) $(UV) run --frozen python -m hbs_identity.audit verify || status=1; \
	HBS_GRADES_DATA_DIR=$(DATA) $(UV) run --frozen python -m hbs_grades.audit verify || status=1; \
	HBS_SIGNING_DATA_DIR=$(DATA) $(UV) run --frozen python -m hbs_signing.audit verify || status=1; \
	exit $$status

## make backup: an encrypted, dated backup of every service's database and the document store, taken
## while the system runs (the demo's $(DATA), or the HBS_<SERVICE>_DATABASE_URL databases when set),
## into $(BACKUPS); a key is made at $(BACKUP_KEY) the first time (HBS_BACKUP_KEY_FILE to use another).
backup: bootstrap
	@test -e $(BACKUP_KEY) || $(BACKUP_CLI) keygen $(BACKUP_KEY)
	@$(BACKUP_CLI) create --key-file $(BACKUP_KEY) --data-dir $(DATA) --out $(BACKUPS)

## make restore: the newest backup in $(BACKUPS) (or BACKUP=file) into an EMPTY installation ($(DATA)
## after `make clean-demo`, or new empty databases); refuses a wrong key, a damaged file or data present.
restore: bootstrap
	@$(BACKUP_CLI) restore $(or $(BACKUP),$(BACKUPS)) --key-file $(BACKUP_KEY) --data-dir $(DATA)

## make clean-demo: forget the demo's data (databases, token, keys, documents).
clean-demo:
	rm -rf $(DATA)

.PHONY: messages
## make messages: the portal's English catalogue merged with what its templates and code wrap now.
messages: bootstrap
	@$(UV) run --frozen python -m hbs_portal.catalogue
