"""The ``hub`` command (:mod:`hub.cli.main`) and its groups; nothing else imports these modules."""
