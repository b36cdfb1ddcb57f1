"""Passwords the public knows, so no real account may keep one (checked at every sign-in, in
production too): the demo accounts' password, printed in the README."""

DEMO_PASSWORD = "hbs-demo-2026"
