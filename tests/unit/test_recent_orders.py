"""The bounded memory of store orders a mirror run keeps."""

from returnbridge.stores.recent import Recent


def test_the_oldest_order_is_forgotten_beyond_capacity() -> None:
    recent: Recent[str, int] = Recent(capacity=2)
    recent["a"], recent["b"], recent["c"] = 1, 2, 3
    assert "a" not in recent and recent.get("b") == 2 and recent.get("c") == 3 and len(recent) == 2


def test_reading_an_order_keeps_it_longer() -> None:
    recent: Recent[str, int] = Recent(capacity=2)
    recent["a"], recent["b"] = 1, 2
    assert recent.get("a") == 1
    recent["c"] = 3
    assert "b" not in recent and recent.get("a") == 1


def test_a_refunded_order_can_be_dropped() -> None:
    recent: Recent[str, int] = Recent()
    recent["a"] = 1
    assert recent.pop("a") == 1 and recent.pop("a") is None and "a" not in recent
