"""Tracking a user's video from a first-frame mask or keypoints, with outputs to disk.

Outputs in `output_dir`:
  masks/00000.png ...   palette PNGs (object ids as in the first mask)   [mask input]
  first_mask.png        the mask GrabCut made from boxes or clicks       [box / point input]
  keypoints.json        per frame, per keypoint: x, y, visible           [keypoint input]
  overlay.mp4           the video with the result drawn on it (H.264: plays in browsers)
  colortrack_track.json which run wrote them; "status" is "complete" only once all are
                        written ("running" after a kill); frames_decoded vs
                        frames_declared (the container's count), "truncated" when fewer
                        frames decoded than declared
A new run into the same folder first removes what the previous run listed
there; a folder with such outputs but no record (not written by colortrack) is
refused, never cleared.
Keypoint JSON input: {"keypoints": [{"x": .., "y": ..}, ...]}, or [[x, y], ...],
or a colortrack keypoints.json / synthetic ground truth (its first frame is used).
Coordinates are 0-based pixels, pixel (col c, row r) centred at (c, r).
"""

import itertools
import json
import os
from typing import Callable, Optional, Sequence

import cv2
import numpy as np

from colortrack import errors
from colortrack.data import masks as masks_lib
from colortrack.data import video_io
from colortrack.inference import pointer
from colortrack.utils import files
from colortrack.utils import progress as progress_lib
from colortrack.utils import video_writer

_POINT_COLORS = masks_lib.davis_palette()[1:]


class TrackInputError(errors.UserError):
  """The video, mask or keypoints cannot be tracked; the message names the file."""


def read_keypoints(path: str) -> np.ndarray:
  """`[K, 2]` x, y from one of the JSON layouts in the module docstring."""
  try:
    with open(path) as f:
      payload = json.load(f)
    if isinstance(payload, dict) and "frames" in payload:
      payload = payload["frames"][0]
    if isinstance(payload, dict):
      payload = payload["keypoints"]
    points = [[p["x"], p["y"]] if isinstance(p, dict) else [p[0], p[1]] for p in payload]
    points = np.asarray(points, np.float32).reshape(-1, 2)
  except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
    raise TrackInputError(f"{path}: not a keypoints JSON file ({e})") from e
  if not len(points):
    raise TrackInputError(f"{path}: no keypoints")
  bad = np.flatnonzero(~np.all(np.isfinite(points), axis=1))
  if len(bad):
    raise TrackInputError(f"{path}: keypoint {int(bad[0])} is not a finite number "
                          f"({points[bad[0], 0]}, {points[bad[0], 1]})")
  return points


def draw_overlay(frame: np.ndarray, ids: Optional[np.ndarray] = None,
                 points: Optional[np.ndarray] = None,
                 visible: Optional[np.ndarray] = None,
                 frame_index: Optional[int] = None,
                 object_ids: Optional[Sequence[int]] = None) -> np.ndarray:
  """RGB frame with each object tinted and outlined in its DAVIS palette colour,
  keypoints as dots, a legend of the object ids (or keypoint numbers) at the top
  left, and the frame number at the bottom left."""
  out = frame.astype(np.float32)
  palette = masks_lib.davis_palette()
  if ids is not None:
    tinted = ids > 0
    out[tinted] = 0.5 * out[tinted] + 0.5 * palette[ids[tinted]].astype(np.float32)
    for object_id in (object_ids if object_ids is not None else masks_lib.object_ids(ids)):
      region = (ids == object_id).astype(np.uint8)
      edge = cv2.morphologyEx(region, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
      # The outline: the object's own colour, lightened to stand out from its tint.
      out[edge] = np.minimum(palette[object_id].astype(np.float32) * 0.6 + 110, 255)
  out = out.astype(np.uint8)
  size = min(frame.shape[:2])
  scale = max(0.35, size / 600)
  thickness = max(1, int(round(scale * 2)))
  if points is not None:
    radius = max(2, round(size / 120))
    for k, (x, y) in enumerate(points):
      if visible is None or visible[k]:
        colour = tuple(int(c) for c in _POINT_COLORS[k % len(_POINT_COLORS)])
        cv2.circle(out, (int(round(x)), int(round(y))), radius, colour, -1, cv2.LINE_AA)
  legend = []
  if ids is not None:
    legend = [(str(int(i)), palette[int(i)])
              for i in (object_ids if object_ids is not None else masks_lib.object_ids(ids))]
  elif points is not None:
    legend = [(str(k), _POINT_COLORS[k % len(_POINT_COLORS)]) for k in range(len(points))]
  box = int(round(14 * scale / 0.5))
  for row, (label, colour) in enumerate(legend[:12]):
    top = 4 + row * (box + 3)
    cv2.rectangle(out, (4, top), (4 + box, top + box), tuple(int(c) for c in colour), -1)
    cv2.putText(out, label, (8 + box, top + box - 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), thickness, cv2.LINE_AA)
  if frame_index is not None:
    cv2.putText(out, f"frame {frame_index}", (4, frame.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX,
                scale, (255, 255, 255), thickness, cv2.LINE_AA)
  return out


RECORD_NAME = "colortrack_track.json"
MASKS_DIR = "masks"
KEYPOINTS_NAME = "keypoints.json"
OVERLAY_NAME = "overlay.mp4"
FIRST_MASK_NAME = "first_mask.png"  # the mask made from --box / --points


def _clear_previous_run(output_dir: str) -> None:
  """Removes the outputs an earlier track run wrote; refuses unrecorded ones."""
  record_path = os.path.join(output_dir, RECORD_NAME)
  masks_dir = os.path.join(output_dir, MASKS_DIR)
  ours = [os.path.join(output_dir, n) for n in (KEYPOINTS_NAME, OVERLAY_NAME, FIRST_MASK_NAME)]
  found = [p for p in ours + [masks_dir] if os.path.exists(p)]
  if not os.path.exists(record_path):
    if found:
      raise TrackInputError(f"{found[0]}: exists but was not written by colortrack.track "
                            f"(no {RECORD_NAME}); choose another --output_dir")
    return
  for path in ours:
    if os.path.exists(path):
      os.remove(path)
  if os.path.isdir(masks_dir):
    for name in os.listdir(masks_dir):
      if name.endswith(".png") and name[:-4].isdigit():
        os.remove(os.path.join(masks_dir, name))
    if not os.listdir(masks_dir):
      os.rmdir(masks_dir)
  os.remove(record_path)


def track_video(video_path: str, output_dir: str, tracker, mask_path: Optional[str] = None,
                keypoints_path: Optional[str] = None, write_overlay: bool = True,
                log_fn: Optional[Callable[[str], None]] = None, boxes=None,
                clicks=None) -> dict:
  """Tracks the first-frame annotation through the video; returns a summary dict.

  The annotation is a mask PNG, keypoints JSON, boxes `[N, 4]` (x0, y0, x1, y1;
  object k + 1 per box) or foreground clicks `[N, 2]` (x, y; one object): boxes
  and clicks become a mask by GrabCut (`first_mask`), written as
  `first_mask.png` in `output_dir` so it can be checked and edited.
  """
  given = [a is not None for a in (mask_path, keypoints_path, boxes, clicks)]
  if sum(given) != 1:
    raise TrackInputError("give exactly one of a first-frame mask, keypoints, boxes or points")
  files.check_output_dir(output_dir, "--output_dir")
  files.check_not_inside(output_dir, [video_path, mask_path, keypoints_path], "--output_dir")
  try:
    source = video_io.source_from_path(video_path)
    frames = video_io.rgb_frames(source)
    first = next(frames)
  except StopIteration as e:
    raise TrackInputError(f"{video_path}: video has no frames") from e
  except video_io.VideoReadError as e:
    # VideoReadError names the file itself.
    message = str(e)
    raise TrackInputError(message if video_path in message else f"{video_path}: {message}") from e
  height, width = first.shape[:2]
  # Validate the annotation before anything is written.
  from_shapes = boxes is not None or clicks is not None
  if from_shapes:
    from colortrack.inference import first_mask  # pylint: disable=g-import-not-at-top
    first_ids = (first_mask.mask_from_boxes(first, boxes) if boxes is not None
                 else first_mask.mask_from_clicks(first, clicks))
    object_ids = masks_lib.object_ids(first_ids)
    mask_path = os.path.join(output_dir, FIRST_MASK_NAME)
  elif mask_path is not None:
    try:
      first_ids = masks_lib.read_mask(mask_path)
    except masks_lib.MaskError as e:
      raise TrackInputError(str(e)) from e
    if first_ids.shape != (height, width):
      raise TrackInputError(f"{mask_path}: mask is {first_ids.shape[1]}x{first_ids.shape[0]} "
                            f"but the video's frames are {width}x{height}")
    object_ids = masks_lib.object_ids(first_ids)
    if not len(object_ids):
      raise TrackInputError(f"{mask_path}: mask has no object (every pixel is background)")
  else:
    points = read_keypoints(keypoints_path)
    outside = np.flatnonzero((points[:, 0] < -0.5) | (points[:, 0] > width - 0.5) |
                             (points[:, 1] < -0.5) | (points[:, 1] > height - 0.5))
    if len(outside):
      k = int(outside[0])
      raise TrackInputError(f"{keypoints_path}: keypoint {k} at ({points[k, 0]:g}, "
                            f"{points[k, 1]:g}) is outside the {width}x{height} frame")

  total, fps = video_io.frame_count_and_fps(source)
  processed_h, processed_w = (tracker.processing_size(height, width, mask_path is None)
                              if hasattr(tracker, "processing_size") else (height, width))
  # The overlay is a preview at the size the model saw (never above the video's):
  # drawing and encoding it at 1080p or 4K would cost more than tracking.
  overlay_h, overlay_w = ((processed_h, processed_w) if processed_h < height
                          else (height, width))
  files.ensure_output_dir(output_dir, "--output_dir", claim=True)
  _clear_previous_run(output_dir)
  if from_shapes:
    masks_lib.write_mask(mask_path, first_ids)
  record = {"status": "running", "video": os.path.abspath(video_path),
            "annotation": os.path.abspath(mask_path or keypoints_path)}
  if from_shapes:  # what the first mask was made from
    record["annotation_from"] = ({"boxes": np.asarray(boxes).tolist()} if boxes is not None
                                 else {"points": np.asarray(clicks).tolist()})
  record_path = os.path.join(output_dir, RECORD_NAME)
  files.write_json_atomic(record_path, record)
  overlay = (video_writer.VideoWriter(os.path.join(output_dir, OVERLAY_NAME), fps, overlay_w,
                                      overlay_h) if write_overlay else None)
  progress = progress_lib.Progress("track", total or None, unit="frames",
                                   **({"log_fn": log_fn} if log_fn else {}))
  frame_buffer = []  # trackers consume frame t, then yield its result: the overlay's frame

  def remember(stream):
    for frame in stream:
      frame_buffer.append(frame)
      yield frame

  all_frames = remember(itertools.chain([first], frames))
  at = f"processing {processed_w}x{processed_h}"

  def preview(frame, ids=None, points=None):
    """The frame, ids and points at the overlay's size."""
    if (overlay_h, overlay_w) == (height, width):
      return frame, ids, points
    frame = pointer.resize(frame, overlay_h, overlay_w)
    if ids is not None:
      ids = cv2.resize(ids, (overlay_w, overlay_h), interpolation=cv2.INTER_NEAREST)
    if points is not None:  # pixel centres map as (x + 0.5) * s - 0.5
      points = (np.asarray(points) + 0.5) * [overlay_w / width, overlay_h / height] - 0.5
    return frame, ids, points

  summary = {"video": video_path, "frames": 0, "width": width, "height": height,
             "processed_width": processed_w, "processed_height": processed_h}
  try:
    if mask_path is not None:
      summary["objects"] = [int(i) for i in object_ids]
      for index, ids in enumerate(tracker.track_masks(all_frames, first_ids)):
        masks_lib.write_mask(os.path.join(output_dir, MASKS_DIR, f"{index:05d}.png"), ids)
        if overlay:
          small_frame, small_ids, _ = preview(frame_buffer.pop(0), ids=ids)
          overlay.write(draw_overlay(small_frame, ids=small_ids, frame_index=index,
                                     object_ids=object_ids))
        frame_buffer.clear()
        summary["frames"] += 1
        progress.update(1, extra=at)
    else:
      results = []
      for index, (frame_points, visible) in enumerate(
          tracker.track_points(all_frames, points)):
        results.append({"frame": index, "keypoints": [
            {"x": float(x), "y": float(y), "visible": bool(v)}
            for (x, y), v in zip(frame_points, visible)]})
        if overlay:
          small_frame, _, small_points = preview(frame_buffer.pop(0), points=frame_points)
          overlay.write(draw_overlay(small_frame, points=small_points, visible=visible,
                                     frame_index=index))
        frame_buffer.clear()
        summary["frames"] += 1
        progress.update(1, extra=at)
      files.write_json_atomic(os.path.join(output_dir, KEYPOINTS_NAME),
                              {"num_keypoints": int(len(points)), "frames": results})
      summary["keypoints"] = int(len(points))
  except BaseException:
    if overlay:
      overlay.abort()  # masks written so far stay; no half video is left
    raise
  if overlay:
    overlay.close()
    summary["overlay"] = overlay.path
  summary["seconds"] = progress.elapsed_s
  record.update(status="complete", frames=summary["frames"], method=tracker.name,
                model=getattr(getattr(tracker, "embedder", None), "path", None),
                frames_decoded=summary["frames"], frames_declared=total or None)
  if total and summary["frames"] < total:
    # A damaged or cut file: what was decoded is tracked, and the shortfall is said.
    summary["truncated"] = (f"{video_path}: the file declares {total} frames but only "
                            f"{summary['frames']} could be decoded (truncated or damaged); "
                            f"tracked those {summary['frames']}")
    record["truncated"] = True
  files.write_json_atomic(record_path, record)
  progress.update(0, extra=at, force=True)
  return summary
