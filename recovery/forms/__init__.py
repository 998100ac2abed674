"""Forms, one module per concern: patients, checkin, labs, care, outcomes, notifications; widgets are shared."""
