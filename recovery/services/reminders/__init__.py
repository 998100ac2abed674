"""The reminders wing: planning rows (planning.py, with the care reminders of care.py), sending them
(dispatch.py) and what each message says (messages.py). See planning.py for how they fit together."""
