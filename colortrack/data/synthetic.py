"""Procedural colour videos with ground truth: the embedded default dataset.

Each video has a slowly panning colour background and several textured objects
(ellipse, box, diamond) that translate, rotate and change scale, occlude each
other by depth order, and bounce inside a region larger than the frame, so
they leave and re-enter. Textures are attached to the objects (stripes, checks,
dots in two colours), so colour is a cue that can be tracked.

Ground truth per frame: instance ids (0 background, 1..K objects, DAVIS-2017
layout) and keypoints (3 per object, 0-based pixel x, y with pixel (c, r)
centred at (c, r); visible when its pixel is inside the frame and shows its
object). Everything is a function of the seed.

`write_dataset` lays out:
  videos/<name>.mp4                               raw video (unlabeled training)
  davis/JPEGImages/480p/<name>/00000.jpg          frames (DAVIS layout)
  davis/Annotations/480p/<name>/00000.png         palette masks
  davis/ImageSets/2017/val.txt                    sequence names
  keypoints/<name>.json                           per-frame keypoints
"""

import dataclasses
import inspect
import json
import os
from typing import List

import cv2
import numpy as np

from colortrack import errors
from colortrack.data import masks as masks_lib
from colortrack.utils import files

SHAPES = ("ellipse", "box", "diamond")
TEXTURES = ("stripes", "checks", "dots")
KEYPOINTS_PER_OBJECT = 3
# Keypoints in object coordinates (units of the object's half-axes).
_LOCAL_KEYPOINTS = np.array([[0.0, 0.0], [0.6, 0.0], [0.0, 0.6]])


@dataclasses.dataclass
class SyntheticVideo:
  frames: np.ndarray  # uint8 [T, H, W, 3] RGB
  masks: np.ndarray  # uint8 [T, H, W] ids, 0 = background
  keypoints: np.ndarray  # float32 [T, N, 2] pixel (x, y), N = objects x 3
  visible: np.ndarray  # bool [T, N]
  fps: float


@dataclasses.dataclass
class _Object:
  shape: str
  texture: str
  colors: np.ndarray  # [2, 3] float
  half_axes: np.ndarray  # [2] pixels at scale 1
  position: np.ndarray  # [2] x, y
  velocity: np.ndarray  # [2] pixels / frame
  angle: float
  spin: float  # radians / frame
  scale_amplitude: float
  scale_period: float
  texture_period: float
  texture_angle: float


def _random_color(rng: np.random.Generator) -> np.ndarray:
  # Saturated colours from HSV, so every object has chroma to learn from.
  hue = rng.uniform(0, 180)
  hsv = np.uint8([[[hue, rng.uniform(150, 255), rng.uniform(120, 255)]]])
  return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
  """A smooth colour field, twice the frame size so it can pan."""
  coarse = rng.uniform(40, 220, size=(6, 8, 3)).astype(np.float32)
  field = cv2.resize(coarse, (2 * width, 2 * height), interpolation=cv2.INTER_CUBIC)
  fine = rng.uniform(-12, 12, size=(2 * height, 2 * width, 1)).astype(np.float32)
  return np.clip(field + cv2.GaussianBlur(fine, (0, 0), 1.5)[..., None], 0, 255)


def _make_object(rng: np.random.Generator, height: int, width: int) -> _Object:
  size = min(height, width)
  half_axes = rng.uniform(0.10, 0.20, size=2) * size
  speed = rng.uniform(0.01, 0.03) * size
  direction = rng.uniform(0, 2 * np.pi)
  return _Object(
      shape=SHAPES[rng.integers(len(SHAPES))],
      texture=TEXTURES[rng.integers(len(TEXTURES))],
      colors=np.stack([_random_color(rng), _random_color(rng)]),
      half_axes=half_axes,
      position=np.array([rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height]),
      velocity=speed * np.array([np.cos(direction), np.sin(direction)]),
      angle=rng.uniform(0, np.pi),
      spin=rng.uniform(-0.05, 0.05),
      scale_amplitude=rng.uniform(0.1, 0.35),
      scale_period=rng.uniform(20, 50),
      texture_period=rng.uniform(0.35, 0.7),
      texture_angle=rng.uniform(0, np.pi))


def _object_state(obj: _Object, t: int, height: int, width: int):
  """Centre, angle and scale at frame t; bounces in a box 30% larger than the frame."""
  margin = 0.3 * np.array([width, height])
  low, high = -margin, np.array([width, height]) + margin
  span = high - low
  # Reflection of a straight path: a triangle wave in each coordinate.
  raw = obj.position - low + obj.velocity * t
  folded = np.mod(raw, 2 * span)
  centre = low + np.where(folded > span, 2 * span - folded, folded)
  scale = 1.0 + obj.scale_amplitude * np.sin(2 * np.pi * t / obj.scale_period)
  return centre, obj.angle + obj.spin * t, scale


def _local_coords(grid_x, grid_y, centre, angle, half_axes):
  dx, dy = grid_x - centre[0], grid_y - centre[1]
  cos, sin = np.cos(angle), np.sin(angle)
  u = (cos * dx + sin * dy) / half_axes[0]
  v = (-sin * dx + cos * dy) / half_axes[1]
  return u, v


def _shape_mask(shape: str, u, v):
  if shape == "ellipse":
    return u * u + v * v <= 1.0
  if shape == "box":
    return (np.abs(u) <= 1.0) & (np.abs(v) <= 1.0)
  return np.abs(u) + np.abs(v) <= 1.0


def _texture(obj: _Object, u, v):
  """Index 0/1 into obj.colors, in object coordinates (moves with the object)."""
  p = obj.texture_period
  if obj.texture == "stripes":
    w = u * np.cos(obj.texture_angle) + v * np.sin(obj.texture_angle)
    return (np.floor(w / p) % 2).astype(np.int64)
  if obj.texture == "checks":
    return ((np.floor(u / p) + np.floor(v / p)) % 2).astype(np.int64)
  return ((np.mod(u, p) - p / 2) ** 2 + (np.mod(v, p) - p / 2) ** 2 < (p / 3) ** 2).astype(np.int64)


def generate_video(seed: int, num_frames: int = 48, height: int = 128, width: int = 160,
                   num_objects: int = 3, fps: float = 24.0) -> SyntheticVideo:
  """One deterministic video; see module docstring."""
  rng = np.random.default_rng(seed)
  background = _background(rng, height, width)
  pan_velocity = rng.uniform(-0.4, 0.4, size=2)
  pan_start = np.array([rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height])
  objects = [_make_object(rng, height, width) for _ in range(num_objects)]
  # Pixel (c, r) is centred at (c, r): the keypoint convention of colortrack.
  grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)

  frames = np.zeros((num_frames, height, width, 3), np.uint8)
  ids = np.zeros((num_frames, height, width), np.uint8)
  keypoints = np.zeros((num_frames, num_objects * KEYPOINTS_PER_OBJECT, 2), np.float32)
  visible = np.zeros((num_frames, num_objects * KEYPOINTS_PER_OBJECT), bool)
  for t in range(num_frames):
    offset = np.clip(pan_start + pan_velocity * t, 0, [width, height]).astype(int)
    image = background[offset[1]:offset[1] + height, offset[0]:offset[0] + width].copy()
    frame_ids = np.zeros((height, width), np.uint8)
    for k, obj in enumerate(objects):  # later objects are in front
      centre, angle, scale = _object_state(obj, t, height, width)
      half_axes = obj.half_axes * scale
      u, v = _local_coords(grid_x, grid_y, centre, angle, half_axes)
      inside = _shape_mask(obj.shape, u, v)
      image[inside] = obj.colors[_texture(obj, u[inside], v[inside])]
      frame_ids[inside] = k + 1
      cos, sin = np.cos(angle), np.sin(angle)
      local = _LOCAL_KEYPOINTS * half_axes
      rows = slice(k * KEYPOINTS_PER_OBJECT, (k + 1) * KEYPOINTS_PER_OBJECT)
      keypoints[t, rows, 0] = centre[0] + cos * local[:, 0] - sin * local[:, 1]
      keypoints[t, rows, 1] = centre[1] + sin * local[:, 0] + cos * local[:, 1]
    for n in range(keypoints.shape[1]):
      x, y = keypoints[t, n]
      col, row = int(round(x)), int(round(y))
      if 0 <= col < width and 0 <= row < height:
        visible[t, n] = frame_ids[row, col] == n // KEYPOINTS_PER_OBJECT + 1
    frames[t] = np.clip(image, 0, 255).astype(np.uint8)
    ids[t] = frame_ids
  return SyntheticVideo(frames, ids, keypoints, visible, fps)


def video_name(index: int) -> str:
  return f"synthetic_{index:03d}"


def write_video_file(path: str, frames: np.ndarray, fps: float) -> None:
  """mp4 (MPEG-4 part 2, which OpenCV's bundled FFmpeg always has), atomically."""
  height, width = frames.shape[1:3]
  with files.atomic_output(path) as tmp_path:
    # The temp name must end in .mp4 for OpenCV to pick the container.
    tmp_mp4 = tmp_path + ".mp4"
    writer = cv2.VideoWriter(tmp_mp4, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
      raise OSError(f"{path}: OpenCV cannot write mp4 video")
    for frame in frames:
      writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    os.replace(tmp_mp4, tmp_path)


def write_keypoints_json(path: str, video: SyntheticVideo) -> None:
  payload = {
      "num_keypoints": int(video.keypoints.shape[1]),
      "frames": [{"frame": t, "keypoints": [
          {"x": float(x), "y": float(y), "visible": bool(v)}
          for (x, y), v in zip(video.keypoints[t], video.visible[t])]}
                 for t in range(len(video.frames))],
  }
  files.write_json_atomic(path, payload)


def write_dataset(output_dir: str, num_videos: int = 8, seed: int = 0, **video_kwargs) -> List[str]:
  """Writes `num_videos` videos in the layouts above; returns their names.

  Videos already written (all their files present) are kept, so the call is
  cheap to repeat and resumes after an interruption; a folder made with other
  settings is refused. Frame sizes must be even (mp4 video needs it), so the
  videos and the masks always have the same size.
  """
  defaults = {name: parameter.default for name, parameter in
              inspect.signature(generate_video).parameters.items()
              if parameter.default is not inspect.Parameter.empty}
  video_kwargs = {**defaults, **video_kwargs}
  height, width = video_kwargs["height"], video_kwargs["width"]
  if height % 2 or width % 2 or min(height, width) < 16:
    raise errors.UserError(f"{output_dir}: frame size {width}x{height} must be even and at "
                           "least 16 (mp4 video stores even sizes only)")
  files.ensure_output_dir(output_dir, "--output_dir", claim=True)
  settings = {"num_videos": num_videos, "seed": seed, **video_kwargs}
  settings_path = os.path.join(output_dir, "synthetic.json")
  if os.path.exists(settings_path):
    try:
      previous = files.read_json(settings_path)
    except (OSError, ValueError):
      previous = None
    changed = {k for k in set(settings) | set(previous or {}) if k != "num_videos"
               and (previous or {}).get(k) != settings.get(k)}
    if changed:
      raise errors.UserError(f"{settings_path}: this folder was made with other settings "
                             f"({', '.join(sorted(changed))}); use another --output_dir")
  names = []
  for index in range(num_videos):
    name = video_name(index)
    names.append(name)
    video_path = os.path.join(output_dir, "videos", f"{name}.mp4")
    keypoints_path = os.path.join(output_dir, "keypoints", f"{name}.json")
    if os.path.exists(video_path) and os.path.exists(keypoints_path):
      continue
    video = generate_video(seed * 100_003 + index, **video_kwargs)
    frame_dir = os.path.join(output_dir, "davis", "JPEGImages", "480p", name)
    mask_dir = os.path.join(output_dir, "davis", "Annotations", "480p", name)
    os.makedirs(frame_dir, exist_ok=True)
    for t, (frame, ids) in enumerate(zip(video.frames, video.masks)):
      with files.atomic_output(os.path.join(frame_dir, f"{t:05d}.jpg")) as tmp_path:
        cv2.imwrite(tmp_path + ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        os.replace(tmp_path + ".jpg", tmp_path)
      masks_lib.write_mask(os.path.join(mask_dir, f"{t:05d}.png"), ids)
    write_video_file(video_path, video.frames, video.fps)
    write_keypoints_json(keypoints_path, video)
  image_sets = os.path.join(output_dir, "davis", "ImageSets", "2017", "val.txt")
  with files.atomic_output(image_sets) as tmp_path:
    with open(tmp_path, "w") as f:
      f.write("\n".join(names) + "\n")
  with files.atomic_output(settings_path) as tmp_path:
    with open(tmp_path, "w") as f:
      json.dump(settings, f)
  return names
