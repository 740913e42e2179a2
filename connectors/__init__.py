"""Ways data comes in besides native Kafka: for now the traffic generator."""
