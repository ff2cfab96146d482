"""Reading and writing video files with PyAV (its wheels ship FFmpeg): RGB frames with their timestamps in,
encoded frames and copied audio out, under a temporary name renamed when complete.

    with open_video("clip.mp4") as source:
        info = source.info
        with VideoWriter("out/clip.mp4", width, height, info.rate, info.time_base, info.audio) as writer:
            for item in source.items(size=None):
                if isinstance(item, Frame):
                    writer.write([item.rgb], [item.pts])
                else:
                    writer.copy([item])

Each frame keeps its presentation timestamp in the source's time base, so a variable frame rate stays as it
was; the first video stream is read, every audio stream is copied packet by packet. H.264 (``.mp4``, ``.mov``,
``.mkv``, ``.avi``) or VP9 (``.webm``) in yuv420p, which needs an even width and height: an odd one is cropped by
one pixel (:func:`encoded_size`, with a notice).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from stylenet import imageio, runtimes

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi")
ENCODERS = {".webm": "libvpx-vp9"}  # suffix -> video encoder; libx264 for the others
DEFAULT_ENCODER = "libx264"
IMAGE_FORMATS = ("image2", "gif", "apng", "webp_pipe")  # FFmpeg demuxers of still images (and *_pipe)
QUALITY = {  # encoder -> options: near-transparent quality at a speed that keeps up with the network
    "libx264": {"crf": "18", "preset": "veryfast"},
    "libvpx-vp9": {"crf": "24", "b": "0", "deadline": "realtime"},
}


class VideoReadError(ValueError):
    """A file that cannot be read as a video; the message is one line naming the file."""


def first_line(error: BaseException) -> str:
    """An error's reason in one line: FFmpeg's message without its number and file name, else the first line."""
    if isinstance(error, av.FFmpegError) and error.strerror:
        return error.strerror
    return runtimes.first_line(error)


@dataclass(frozen=True)
class VideoInfo:
    """What a source video holds: its first video stream's ``width`` x ``height``, average ``rate`` (frames/s),
    ``time_base`` (seconds per pts unit), ``frames`` (the container's count; 0 if it does not say) and
    ``duration`` (seconds; 0 if unknown); its audio streams (copied); the kinds of the streams it drops."""

    path: Path
    width: int
    height: int
    rate: Fraction
    time_base: Fraction
    frames: int
    duration: float
    audio: tuple[av.audio.stream.AudioStream, ...]
    dropped: tuple[str, ...]


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``rgb`` ``(H, W, 3)`` uint8 and its presentation timestamp (source time base)."""

    rgb: np.ndarray
    pts: int


def resized_size(width: int, height: int, size: int | None) -> tuple[int, int]:
    """``(width, height)`` with the longest side ``size`` (None keeps it), rounded as images are."""
    resized = imageio.resized_size(width, height, size)
    return (width, height) if resized is None else resized[0]


def encoded_size(width: int, height: int) -> tuple[int, int]:
    """The size yuv420p encodes: ``width`` and ``height`` rounded down to even numbers."""
    return width - width % 2, height - height % 2


class VideoSource:
    """An open video file (use as a context manager); :meth:`items` decodes it. Raises :class:`VideoReadError`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such file")
        try:
            self.container = av.open(str(self.path))
        except (av.FFmpegError, UnicodeDecodeError) as error:
            raise VideoReadError(f"{self.path}: not a readable video ({first_line(error)})") from error
        try:
            self.info = self.describe()
        except VideoReadError:
            self.container.close()
            raise

    def describe(self) -> VideoInfo:
        streams = self.container.streams
        if self.container.format.name in IMAGE_FORMATS or self.container.format.name.endswith("_pipe"):
            raise VideoReadError(f"{self.path}: not a video (an image: {self.container.format.name})")
        if not streams.video:
            kinds = ", ".join(s.type for s in streams) or "no streams"
            raise VideoReadError(f"{self.path}: not a readable video (no video stream: {kinds})")
        video = streams.video[0]
        context = video.codec_context
        if not context.width or not context.height:
            raise VideoReadError(f"{self.path}: not a readable video (video stream without a frame size)")
        rate = video.average_rate or video.guessed_rate or Fraction(25)
        duration = float(video.duration * video.time_base) if video.duration else 0.0
        if not duration and self.container.duration:
            duration = self.container.duration / av.time_base
        dropped = tuple(s.type for s in streams if s is not video and s.type != "audio")
        return VideoInfo(
            self.path, context.width, context.height, Fraction(rate), Fraction(video.time_base or Fraction(1, 90000)),
            video.frames, duration, tuple(streams.audio), dropped,
        )  # fmt: skip

    def items(self, size: int | None = None) -> Iterator[Frame | av.Packet]:
        """The first video stream's frames (RGB, longest side ``size``) and the audio streams' packets, in the
        file's order. A frame without a timestamp gets the next one at the average rate."""
        info = self.info
        video = self.container.streams.video[0]
        width, height = resized_size(info.width, info.height, size)
        step = max(1, round(1 / (info.rate * info.time_base)))
        next_pts = 0
        try:
            for packet in self.container.demux(video, *info.audio):
                if packet.stream.type == "audio":
                    if packet.dts is not None:
                        yield packet
                    continue
                for frame in packet.decode():
                    pts = frame.pts if frame.pts is not None else next_pts
                    next_pts = pts + step
                    yield Frame(frame.to_ndarray(width=width, height=height, format="rgb24"), pts)
        except av.FFmpegError as error:
            raise VideoReadError(f"{self.path}: cannot decode the video ({first_line(error)})") from error

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_video(path: str | os.PathLike) -> VideoSource:
    """Open ``path`` for reading (:class:`VideoSource`)."""
    return VideoSource(path)


class VideoWriter:
    """Encodes RGB frames to ``path`` at ``rate`` (frames/s, the stream's nominal rate) with timestamps in
    ``time_base`` and copies the source's ``audio`` streams' packets, under a temporary name in the same folder;
    renamed to ``path`` when the ``with`` block ends without an error, removed otherwise. Frames are
    ``(H, W, 3)`` uint8 of ``width`` x ``height``, cropped to :func:`encoded_size`."""

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        rate: Fraction,
        time_base: Fraction,
        audio: Sequence[av.audio.stream.AudioStream] = (),
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.temporary = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:12]}{self.path.suffix}")
        self.width, self.height = encoded_size(width, height)
        self.time_base = time_base
        self.container = av.open(str(self.temporary), "w")
        try:
            encoder = ENCODERS.get(self.path.suffix.lower(), DEFAULT_ENCODER)
            self.video = self.container.add_stream(encoder, rate=rate, options=QUALITY[encoder])
            self.video.width, self.video.height, self.video.pix_fmt = self.width, self.height, "yuv420p"
            self.video.time_base = self.video.codec_context.time_base = time_base  # keep every frame's pts
            self.audio = {s.index: self.container.add_stream_from_template(s) for s in audio}
        except (av.FFmpegError, ValueError) as error:
            self.discard()
            raise OSError(f"{self.path}: cannot write this video ({first_line(error)})") from error

    def write(self, frames: Sequence[np.ndarray], pts: Sequence[int]) -> None:
        """Encode ``frames`` at presentation timestamps ``pts`` (the source's time base)."""
        for rgb, stamp in zip(frames, pts, strict=True):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: self.height, : self.width]), format="rgb24")
            frame.pts, frame.time_base = stamp, self.time_base
            self.container.mux(self.video.encode(frame))

    def copy(self, packets: Sequence[av.Packet]) -> None:
        """Mux audio ``packets`` of the source into their copied streams."""
        for packet in packets:
            packet.stream = self.audio[packet.stream.index]
            self.container.mux(packet)

    def finish(self) -> Path:
        """Flush the encoder, close the file and rename it to :attr:`path`."""
        self.container.mux(self.video.encode(None))
        self.container.close()
        os.replace(self.temporary, self.path)
        return self.path

    def discard(self) -> None:
        """Close and remove the temporary file."""
        with contextlib.suppress(av.FFmpegError):
            self.container.close()
        self.temporary.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.discard()
