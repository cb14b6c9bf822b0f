"""The performance model: units, the chip (Chip pytree, configs, efficiency knobs), the
workload (Model, Scenario), mapping, traffic, memory, communication, smooth operators
and ``perf.predict`` -> Metrics. Pure and traceable; imports nothing else of explorer."""
