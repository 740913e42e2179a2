"""The worker's bulk publisher places a keyed record where Kafka's default partitioner would
(aiokafka's ``DefaultPartitioner``: murmur2 of the key), so that a key keeps its partition
whoever produces it — cache or no cache."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from streams.sinks.bulk_producer import partition_index


@given(key=st.binary(max_size=200), partition_count=st.integers(min_value=1, max_value=64))
def test_the_partition_is_the_default_partitioners(key: bytes, partition_count: int) -> None:
    partitions = list(range(partition_count))
    expected = DefaultPartitioner()(key, partitions, partitions)
    assert partitions[partition_index(key, partition_count)] == expected
    # Asked again (now from the cache): the same answer.
    assert partitions[partition_index(key, partition_count)] == expected
