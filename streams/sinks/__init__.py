"""The worker's outputs besides PostgreSQL, behind one interface (:class:`.base.Sink`)."""
