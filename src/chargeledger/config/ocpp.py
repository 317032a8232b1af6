"""Limits of the OCPP edge (``CHARGELEDGER_OCPP_*``: frame size, how long stored answers are
replayed, how far ahead a station's clock may run), and its websocket compression."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chargeledger.config.values import PREFIX, whole_number
from chargeledger.errors import ConfigurationError

# A BootNotification or a MeterValues with a few samples must always fit.
MIN_FRAME_BYTES = 4096


@dataclass(frozen=True, slots=True)
class OcppSettings:
    """Limits of the OCPP edge (DESIGN §6: frames have size limits; DESIGN §2: exactly once).

    ``max_frame_bytes``: a larger frame is refused unparsed with a CALLERROR (naming its
    message id when its head shows one, else ``-1``), kept (its head) in the rejected frames,
    and the link stays up. The websocket server reads at most ``read_limit_bytes`` (twice the
    limit) of one frame, so an oversized frame can still be answered while nothing larger is
    ever buffered: above that the server closes the connection with 1009 (RFC 6455 §7.4.1
    "message too big") without reading the frame.
    ``reply_retention_hours``: stored answers (replayed for a repeated message id within the
    station's current boot) are forgotten after this long.
    ``future_tolerance_minutes``: a station timestamp further ahead of our clock is refused.
    """

    max_frame_bytes: int = 65536
    reply_retention_hours: int = 24
    future_tolerance_minutes: int = 15

    @property
    def read_limit_bytes(self) -> int:
        """What the websocket server may buffer of one frame (uvicorn ``ws_max_size``)."""
        return 2 * self.max_frame_bytes

    @property
    def per_message_deflate(self) -> bool:
        """Whether the websocket server accepts compression (uvicorn
        ``ws_per_message_deflate``): never, the same for ``serve``, the demo and the tests.

        No permessage-deflate (RFC 7692 is an extension the server may decline; OCPP-J 1.6
        §5.1 and 2.0.1 Part 4 §5.1 advise against compression beyond it, as OCPP's JSON is
        small): uvicorn's deflate keeps a zlib compressor and decompressor of full window
        size per connection, about 100-250 KiB each, which dominated what a connection
        costs; a station that offers it simply talks uncompressed.
        """
        return False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OcppSettings:
        frame = whole_number(env, "OCPP_MAX_FRAME_BYTES", 65536)
        if frame < MIN_FRAME_BYTES:
            raise ConfigurationError(
                f"{PREFIX}OCPP_MAX_FRAME_BYTES must be at least {MIN_FRAME_BYTES}",
                code="invalid_setting",
            )
        return cls(
            max_frame_bytes=frame,
            reply_retention_hours=whole_number(env, "OCPP_REPLY_RETENTION_HOURS", 24),
            future_tolerance_minutes=whole_number(env, "OCPP_FUTURE_TOLERANCE_MINUTES", 15),
        )
