"""TFRecord schema of a training clip: the one place that names feature keys.

The writer (`colortrack.data.clips`) and the parser (`colortrack.data.pipeline`)
both use these keys. One `tf.train.Example` holds one clip of `num_frames`
consecutive frames (after resampling to `fps`), all `height x width`:

  LIGHTNESS_PNG  bytes x T   uint8 PNG, value = round(L * 255 / 100), L in [0, 100]
  AB_CODES_PNG   bytes x T   uint8 PNG, index of the nearest codebook centroid
  RGB_JPEG       bytes x T   sRGB JPEG: full colour, to rebuild Lab in-graph (MAST)
  CODEBOOK_CENTROIDS float x 2K   the codebook used for AB_CODES_PNG (a, b pairs)
  CODEBOOK_SHA   bytes       its hash; mixing codebooks in one dataset is an error
"""

VIDEO_ID = "video/id"
SOURCE_FRAME_INDICES = "clip/source_frame_indices"
CLIP_INDEX = "clip/index"
FPS = "clip/fps"
NUM_FRAMES = "clip/num_frames"
HEIGHT = "clip/height"
WIDTH = "clip/width"
LIGHTNESS_PNG = "clip/frames/lightness_png"
AB_CODES_PNG = "clip/frames/ab_codes_png"
RGB_JPEG = "clip/frames/rgb_jpeg"
CODEBOOK_CENTROIDS = "codebook/centroids"
CODEBOOK_SHA = "codebook/sha"

# Scale between stored uint8 lightness and L in [0, 100].
LIGHTNESS_UINT8_SCALE = 255.0 / 100.0

FRAME_KEYS = (LIGHTNESS_PNG, AB_CODES_PNG, RGB_JPEG)
SHARD_SUFFIX = ".tfrecord"
MANIFEST_NAME = "manifest.json"


def shard_name(index: int, num_shards: int) -> str:
  return f"clips-{index:05d}-of-{num_shards:05d}{SHARD_SUFFIX}"


def shard_manifest_name(index: int, num_shards: int) -> str:
  return f"clips-{index:05d}-of-{num_shards:05d}.manifest.json"
