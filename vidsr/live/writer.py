"""The writer side of a live stream: a `Sink` with the live encoder on one output timeline, and
a latency sample for each frame muxed."""

from __future__ import annotations

import time
from collections import deque
from fractions import Fraction

import av

from vidsr.config import Options
from vidsr.frames import FrameBatch, VideoInfo
from vidsr.geometry import Geometry
from vidsr.live.reader import Audio
from vidsr.sink import Encoder, Sink, open_live_output

OUT_TIME_BASE = Fraction(1, 90_000)  # MPEG-TS's clock; other muxers rescale from it
LATENCY_WINDOW = 1000  # frames the latency percentiles are taken over


def live_encoder(opts: Options) -> Encoder:
    """The encoder `vidsr stream` runs for these options (the latency benchmark times it too)."""
    return Encoder(opts.codec, opts.crf, opts.preset, live=True)


class Writer:
    """A live `Sink` on one output timeline, with a latency sample per frame muxed."""

    def __init__(self, url: str, opts: Options, info: VideoInfo, geometry: Geometry,
                 audio: av.AudioStream | None) -> None:
        container = open_live_output(url)
        try:
            self.sink = Sink(container, name=url, info=info, width=geometry.width,
                             height=geometry.height,
                             encoder=live_encoder(opts),
                             copy=[audio] if audio is not None else [])
        except BaseException:
            container.close()
            raise
        self.audio_index = audio.index if audio is not None else -1
        self.last_pts = -1
        self.last_audio_dts: Fraction | None = None
        self.received: dict[int, float] = {}  # output pts -> when its input packet arrived
        self.latency_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self.frames_out = 0

    def pts(self, seconds: Fraction) -> int:
        """The output pts for a frame at `seconds`: strictly increasing, as encoders need."""
        self.last_pts = max(round(seconds / OUT_TIME_BASE), self.last_pts + 1)
        return self.last_pts

    def write_video(self, batch: FrameBatch, received: list[float]) -> None:
        self.received.update(zip(batch.pts, received, strict=True))
        self._muxed(self.sink.write(batch))

    def write_audio(self, item: Audio) -> None:
        if self.last_audio_dts is not None and item.dts_seconds <= self.last_audio_dts:
            return  # overlaps what is already written (a reconnect replayed it)
        self.last_audio_dts = item.dts_seconds
        packet = item.packet
        tb = packet.time_base
        assert tb is not None, "demuxed packets carry their stream's time base"
        packet.pts, packet.dts = round(item.seconds / tb), round(item.dts_seconds / tb)
        # Every session's audio goes to the one output stream, copied from the first session's.
        self.sink.copy(packet, self.audio_index)

    def _muxed(self, pts: list[int]) -> None:
        now = time.monotonic()
        self.frames_out += len(pts)
        for p in pts:
            received = self.received.pop(p, None)
            if received is not None:
                self.latency_ms.append((now - received) * 1000)

    def close(self) -> None:
        self._muxed(self.sink.close())
