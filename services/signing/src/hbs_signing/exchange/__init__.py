"""Transfer and graduation packages (issue 13 §2–3): the export sealed with the school seal, and
the import of another school's package checked against this installation's trusted roots."""
