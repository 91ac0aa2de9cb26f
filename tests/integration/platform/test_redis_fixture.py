import socket


def ping(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
        conn.sendall(b"PING\r\n")
        return conn.recv(16)


def test_private_redis_stops_and_starts_on_the_same_port(redis_server):
    assert ping(redis_server.port).startswith(b"+PONG")
    redis_server.stop()
    try:
        ping(redis_server.port)
        raise AssertionError("redis still answers after stop()")
    except OSError:
        pass
    redis_server.start()
    assert ping(redis_server.port).startswith(b"+PONG")
