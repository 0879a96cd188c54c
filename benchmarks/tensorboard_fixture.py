"""TensorBoard's own side of our event files (issue 18), run by benchmarks/tensorboard_fixture.sh in a venv with
the `tensorboard` package from PyPI (no TensorFlow):

  write FILE      writes a few scalars, an image and a SessionLog START with tensorboard's EventFileWriter and
                  copies the file to FILE: the fixture Tests/TensorBoardTests/EventFixtureTests decodes exactly.
  read DIR...     reads each run directory with tensorboard's EventAccumulator (as `tensorboard --logdir` does,
                  with purge_orphaned_data) and prints every tag, step and value, and every image's size.
"""

import glob
import os
import shutil
import struct
import sys
import tempfile
import zlib
from unittest import mock

import tensorboard
from tensorboard.backend.event_processing import event_accumulator, event_file_loader
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter


def png(width, height, rgb_rows):
    """A small RGB PNG, byte for byte the same on every run (zlib level 9)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(row) for row in rgb_rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def scalars(wall_time, step, **values):
    value = [summary_pb2.Summary.Value(tag=tag.replace("__", "/"), simple_value=v) for tag, v in values.items()]
    return event_pb2.Event(wall_time=wall_time, step=step, summary=summary_pb2.Summary(value=value))


def write(destination):
    directory = tempfile.mkdtemp()
    try:
        # The writer stamps its file-version event with the time: a fixed one makes the fixture the same bytes on
        # every run.
        with mock.patch("time.time", return_value=1700000000.0):
            writer = EventFileWriter(directory)
        writer.add_event(scalars(1700000001.5, 1, train__mse=0.5, train__zero=0.0))
        writer.add_event(scalars(1700000002.25, 2, train__mse=0.1, eval__psnr=-3.75))
        start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
        writer.add_event(event_pb2.Event(wall_time=1700000003.0, step=2, session_log=start))
        writer.add_event(scalars(1700000004.0, 2, train__mse=0.125))
        image = summary_pb2.Summary.Image(
            height=2, width=3, colorspace=3,
            encoded_image_string=png(3, 2, [[255, 0, 0, 0, 255, 0, 0, 0, 255], [0, 0, 0, 128, 128, 128, 255, 255, 255]]))
        value = summary_pb2.Summary.Value(tag="pictures/samples", image=image)
        writer.add_event(event_pb2.Event(wall_time=1700000005.0, step=5000000000, summary=summary_pb2.Summary(value=[value])))
        writer.add_event(scalars(1700000006.0, -7, odd__negative_step=1.0))
        writer.close()
        (written,) = glob.glob(os.path.join(directory, "events.out.tfevents.*"))
        shutil.copyfile(written, destination)
    finally:
        shutil.rmtree(directory)
    events = list(event_file_loader.EventFileLoader(destination).Load())
    print(f"tensorboard {tensorboard.__version__} wrote {destination}: {os.path.getsize(destination)} bytes, "
          f"{len(events)} events")


def read(run_directory):
    files = sorted(glob.glob(os.path.join(run_directory, "events.out.tfevents.*")))
    print(f"{run_directory}: {len(files)} event file(s)")
    for path in files:
        events = list(event_file_loader.EventFileLoader(path).Load())
        first = events[0] if events else None
        starts = [e.step for e in events if e.HasField("session_log") and e.session_log.status == event_pb2.SessionLog.START]
        print(f"  {os.path.basename(path)}: {len(events)} events, file_version {first.file_version!r}, "
              f"SessionLog START at step(s) {starts}")
    accumulator = event_accumulator.EventAccumulator(run_directory, size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    for tag in tags["scalars"]:
        points = ", ".join(f"{e.step}: {e.value:.6g}" for e in accumulator.Scalars(tag))
        print(f"  scalar {tag}: {points}")
    for tag in tags["images"]:
        points = ", ".join(f"{e.step}: {e.width}x{e.height} PNG of {len(e.encoded_image_string)} bytes"
                           for e in accumulator.Images(tag))
        print(f"  image {tag}: {points}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "read":
        for directory in sys.argv[2:]:
            read(directory)
    else:
        sys.exit(__doc__)
