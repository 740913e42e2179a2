"""The hub's processes: the supervisor of the main job, the worker, the traffic generator's run and
the development credentials. Started by the CLI (:mod:`hub.cli.main`)."""
