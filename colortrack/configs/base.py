"""Defaults shared by every preset; presets override fields, never add them.

The returned ConfigDict is locked, so `--config.trian.steps=...` (a typo) fails
loudly instead of being silently ignored.
"""

import ml_collections
from ml_collections import config_dict


def get_base_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  # "vondrick": gray input, 16 colour codes, cross-entropy (Vondrick et al. 2018).
  # "mast": colour input with a channel dropped, values copied, Huber (Lai et al. 2020).
  config.method = "vondrick"

  config.data = ml_collections.ConfigDict()
  # Glob(s) of TFRecords from data_prep.build_tfrecords (comma-separated).
  config.data.train_pattern = config_dict.placeholder(str)
  config.data.clip_len = 4  # 3 references + 1 target
  config.data.image_size = 256  # frames fed to the model (after crop/resize)
  config.data.crop_scale_min = 0.7  # random square crop, fraction of the short side
  config.data.shuffle_buffer = 256
  config.data.cycle_length = 8
  # "tfrecord": shards of data_prep.build_tfrecords through tf.data (needs TensorFlow);
  # "video": videos / frame folders (train_pattern) decoded with OpenCV (into memory, or
  # streamed past video_memory_gib),
  # coded with `codebook`, cut at `fps` every `clip_stride` frames (0: clip_len) after
  # resizing to stored_size x stored_size, as build_tfrecords does (no TensorFlow).
  config.data.source = "tfrecord"
  config.data.codebook = config_dict.placeholder(str)
  config.data.fps = 6.0
  config.data.stored_size = 256
  config.data.clip_stride = 0
  # The video source holds its clips in memory up to this many GiB (exact replay on
  # resume); past it, it streams them from decoding threads (any dataset size).
  config.data.video_memory_gib = 8.0

  config.model = ml_collections.ConfigDict()
  config.model.encoder_widths = (64, 128, 256, 512)  # ResNet-18
  config.model.encoder_blocks = (2, 2, 2, 2)
  config.model.output_stride = 8  # 256x256 -> 32x32
  config.model.head_width = 256
  # Then a 1x1x1 projection: 5 layers, the paper's head. () leaves the projection alone,
  # a linear map of the encoder's features, as MAST's network (one convolution after the
  # ResNet); the MAST and `cpu` presets use it. Tracking compares the encoder's features,
  # and through the dilated head the loss did not make them better: MAST's trained
  # encoder tracked worse than its random one (DAVIS-2016 dev J&F 0.476 vs 0.524). With
  # the projection alone it beats it, and steps are cheaper (BENCHMARKS.md, "Round 5").
  config.model.head_dilations = (1, 2, 4, 8)
  # 1: each frame's embedding depends on that frame alone (cacheable, streamable
  # at tracking time); 3 mixes neighbouring frames as the paper's head does.
  config.model.head_temporal_kernel = 1
  config.model.embed_dim = 64
  # x, y channels before the head (the paper's design). MAST's network has none:
  # with them, a copy from the same position is free, and the encoder need not learn.
  config.model.coordinates = True
  config.model.temperature = 1.0  # training temperature of the pointer
  # Cosine affinity (L2-normalized embeddings); the paper: raw dot products.
  config.model.normalize_embeddings = False
  config.model.chunk_size = 1024  # target locations per pointer chunk (memory bound)

  config.mast = ml_collections.ConfigDict()
  config.mast.color_space = "lab"  # lab | rgb | hsv (the paper's ablation)
  config.mast.objective = "regression"  # regression (Huber) | classification (codes, Lab only)
  # Channel dropout, the information bottleneck: as the reference implementation
  # (zlai0/MAST), one of a, b (never L) is dropped from every clip, and the loss
  # reconstructs that channel only (methods/mast.py says why).
  config.mast.drop_prob = 1.0
  config.mast.drop_channels = (1, 2)
  config.mast.align = True  # targets at the strided convolutions' centres (Fig. 6)
  config.mast.huber_delta = 1.0
  config.mast.value_scale = 20.0  # the reference's smooth L1 of 20 x the [-1, 1] values

  # Test-time defaults, stored with the model; eval/track flags override them.
  config.inference = ml_collections.ConfigDict()
  config.inference.memory = "window"  # window: previous N frames | mast: long/short-term ROI
  config.inference.window = 3
  config.inference.temperature = 0.5
  config.inference.top_k = 10
  config.inference.radius = 12
  config.inference.long_term = (0, 5)  # frame indices kept as references (MAST)
  config.inference.short_term = (5, 3, 1)  # offsets t - k (MAST)
  config.inference.coarse_radius = 8  # ROI localization window, in grid cells
  config.inference.fine_radius = 3  # ROI half size around the located centre
  config.inference.hard = False
  # Masks: rescale each object's propagated channel to [0, 1] per frame (UVC's
  # norm_mask), against the shrinking of soft propagation.
  config.inference.renormalize = False
  # ...except a channel whose values span less than renormalize_floor, so an object that
  # left the frame is not forced back onto the background (0: always to full range).
  config.inference.renormalize_floor = 0.0
  # Masks: a pixel is object k where k's probability beats background's weighed by
  # mask_threshold / (1 - mask_threshold) (one object: where it is above this; 0.5: the
  # plain argmax). Soft copies blur an object into its surroundings, so its probability
  # sits below 0.5 at its own edges. Only what is returned: the memory keeps the soft masks.
  config.inference.mask_threshold = 0.5
  # Masks returned: an object's connected pieces smaller than this fraction of its largest
  # piece become background (stray copies on lookalike background; 0: keep every piece).
  config.inference.min_component_fraction = 0.0
  # Masks returned: the soft masks, blurred across object edges by the label grid, are
  # moved onto the frame's colour edges first by a guided filter of this radius (pixels
  # of the frame as tracked; 0: off). Output only.
  config.inference.guided_filter_radius = 0
  # With a local radius, also search the first frame's object cells over the whole
  # frame, so an object that left and came back elsewhere is found again.
  config.inference.first_global = False
  # Masks: object k only where a cell's best affinity to the first frame's cells of k
  # is at least this (else background): a gone object stays gone. 0: off.
  config.inference.min_first_similarity = 0.0
  # What the tracker compares: "embedding" (the head's output, the paper),
  # "encoder" (the L2-normalized last ResNet stage, no coordinates or dilated head) or
  # "encoder_stages34" (stages 3 and 4, each L2-normalized, concatenated: texture at
  # two depths).
  config.inference.features = "embedding"
  # Frames are embedded at most this many pixels on their short side (0: as they are);
  # results come back at the video's own size. The models are trained and tuned at
  # 480p (the DAVIS protocol): HD frames would cost time, not accuracy.
  config.inference.max_short_side = 480
  # Frames are resized by this before embedding, then capped by max_short_side: 2 embeds
  # video smaller than 480p up to 2x larger (a finer grid on the frame), 480p as it is.
  config.inference.scale = 1.0
  # The encoder's output stride at test time (0: as trained). 4 for a model trained at
  # 8 dilates the later stages instead: a finer grid with the same weights; radius and
  # the other window sizes count cells of that grid.
  config.inference.output_stride = 0
  # Keypoints: each is a Gaussian of this sigma (grid cells) in the label channels.
  config.inference.keypoint_sigma = 0.75
  # An ensemble export (train.export --ensemble_workdirs) tracks with its first N
  # networks only (0: all of them), e.g. fewer networks for keypoints than for masks.
  config.inference.ensemble_members = 0
  # Compare cells on the first k principal directions of the features (an export's
  # colortrack_basis.npz, `train.export --retune --fit_basis`): ~D/k times less pointer
  # work. 0: the full features.
  config.inference.feature_dims = 0
  # The windowed pointer's dot products: "float32", "bfloat16" (features rounded to
  # bfloat16, products summed in float32, each affinity rounded to bfloat16: ~2.8x faster
  # matrix products on CPUs with AVX512_BF16 or AMX; the default's DAVIS-2016 dev J&F
  # 0.6589 against 0.6581, BENCHMARKS.md "Fast tracking") or "auto": bfloat16 where the
  # CPU has those instructions, else float32 (emulated bfloat16 would be slower).
  config.inference.pointer_precision = "auto"
  # The networks' arithmetic: "float32", "bfloat16" (float32 weights, bfloat16 products:
  # a packed export's networks 1.4x faster on this CPU, features within a cosine of
  # 0.9999 of float32's; BENCHMARKS.md "The default at 3 frames/s") or "auto": bfloat16
  # where the CPU has AVX512_BF16 or AMX. A SavedModel export runs as it was exported.
  config.inference.network_precision = "auto"
  # Settings for tracking keypoints only, where set (e.g. upsampled frames: keypoints
  # need a finer grid than masks); flags still override them.
  config.inference.keypoints = ml_collections.ConfigDict()
  config.inference.keypoints.scale = config_dict.placeholder(float)
  config.inference.keypoints.max_short_side = config_dict.placeholder(int)
  config.inference.keypoints.window = config_dict.placeholder(int)
  config.inference.keypoints.top_k = config_dict.placeholder(int)
  config.inference.keypoints.radius = config_dict.placeholder(int)
  config.inference.keypoints.temperature = config_dict.placeholder(float)
  config.inference.keypoints.ensemble_members = config_dict.placeholder(int)
  config.inference.keypoints.feature_dims = config_dict.placeholder(int)

  config.train = ml_collections.ConfigDict()
  config.train.batch_size = 32  # global: per-replica x replicas
  config.train.learning_rate = 1e-3
  config.train.lr_drop_step = 60_000
  config.train.lr_after_drop = 1e-4
  config.train.num_steps = 400_000
  config.train.log_every = 100
  config.train.summary_every = 100
  config.train.image_summary_every = 1000
  config.train.checkpoint_every = 1000
  config.train.keep_checkpoints = 3
  config.train.seed = 0
  # Save the input iterator (shuffle buffer included) in checkpoints, so a resumed
  # run sees exactly the clips it would have seen. Costs about shuffle_buffer x
  # 0.27 MB per checkpoint at 256x256; when off, a resumed run reseeds the data
  # with the step instead (no clip order is replayed, but it is not the same).
  config.train.checkpoint_input = True
  # Start from the weights of another workdir (MAST: pair pre-training -> fine-tuning),
  # or of a packed one-network export (a shipped network trained further on your video:
  # colortrack/pretrained/mast_crop256). Same model fields; a fresh optimizer.
  config.train.init_workdir = config_dict.placeholder(str)

  config.runtime = ml_collections.ConfigDict()
  # Keras backend of the training step: "tensorflow" (tf.distribute; the default, and
  # the faster one on CPUs) or "jax" (DataParallel over all local GPUs/TPUs).
  config.runtime.backend = "tensorflow"
  config.runtime.dtype_policy = "float32"  # or "mixed_bfloat16" (GPUs, TPUs)
  # >1: split the CPU into this many logical devices and mirror over them
  # (tests and debugging of multi-replica code on a CPU-only machine).
  config.runtime.virtual_cpu_devices = 0
  return config


def use_cpu_sizes(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Model, input and affinity that train on a 2-core CPU in hours (why: configs/cpu.py)."""
  config.data.image_size = 128
  config.data.crop_scale_min = 0.5
  config.data.shuffle_buffer = 128
  config.model.encoder_widths = (32, 64, 128, 128)
  config.model.encoder_blocks = (1, 1, 1, 1)
  config.model.head_width = 128
  config.model.output_stride = 8
  config.model.normalize_embeddings = True
  config.model.temperature = 0.05
  config.inference.temperature = 0.05
  # Measured on DAVIS-2016 dev with the trained mast_pair.py:cpu model: J&F 0.435
  # with the last ResNet stage, 0.391 with the head's output (BENCHMARKS.md).
  config.inference.features = "encoder"
  config.inference.renormalize = True
  # Local search of 8 cells (64 px at stride 8) instead of 12. DAVIS-2016 dev
  # J&F of the cpu.py model after 4800 steps at radius 4 / 6 / 8 / 12: 0.522 /
  # 0.560 / 0.565 / 0.539; of the trained MAST model at 8 / 12: 0.469 / 0.435.
  config.inference.radius = 8
  config.train.batch_size = 16
  config.train.log_every = 20
  config.train.summary_every = 20
  config.train.image_summary_every = 250
  config.train.checkpoint_every = 250
  return config


def use_tiny_sizes(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A model that trains a few steps in seconds: tests and the demo."""
  config.data.image_size = 32
  config.data.shuffle_buffer = 16
  config.data.cycle_length = 2
  config.model.encoder_widths = (8, 8, 16, 16)
  config.model.encoder_blocks = (1, 1, 1, 1)
  config.model.head_width = 16
  config.model.embed_dim = 8
  config.model.output_stride = 8
  config.train.batch_size = 4
  config.train.learning_rate = 3e-3
  config.train.num_steps = 20
  config.train.log_every = 5
  config.train.summary_every = 5
  config.train.image_summary_every = 10
  config.train.checkpoint_every = 10
  return config


def lock(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  config.lock()
  return config
