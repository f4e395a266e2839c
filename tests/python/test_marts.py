"""watchhouse.marts: the readers of published marts (DuckDB on Parquet, or a Spark Thrift server)."""

from __future__ import annotations

import socket

import pytest
from thrift.transport.TTransport import TTransportException

from watchhouse.marts import thrift_connect


def test_a_thrift_server_that_never_answers_times_out_instead_of_hanging():
    """A listener that accepts the connection and never says a word: PyHive's SASL handshake waits
    for an answer, and without thrift_connect's socket timeout it would wait forever."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with pytest.raises(TTransportException) as raised:
            thrift_connect("127.0.0.1", listener.getsockname()[1], timeout_s=0.5)
        assert raised.value.type == TTransportException.TIMED_OUT
