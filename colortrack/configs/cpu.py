r"""A colorization tracker that learns on this 2-core CPU in 1-3 hours.

Command (clips from data_prep.build_tfrecords at 6 fps, 256x256):
  python -m train.train --config=colortrack/configs/cpu.py --workdir=/tmp/cpu \
      --config.data.train_pattern='/tmp/clips/*.tfrecord'

Why these choices: a paper-size step (ResNet-18, 256x256, batch 32) takes
minutes here (BENCHMARKS.md, "Training"), so 400k steps are out of reach.
  * 128x128 crops: 4x fewer pixels than 256x256; the network is fully
    convolutional, so tracking still runs at the video's own resolution.
    Larger crops did not pay for this method: 2000 steps (seed 0, all 171
    sources) at 192x192 crops give dev J&F 0.5365 in 44 min alone, at 256x256
    (320-px clips) 0.5163 in 81, against 0.5407 at 128 in 19 (BENCHMARKS.md
    "Crop size x method"; for MAST, 192 for 2500 steps beats 128 for 7500, so
    mast_pair.py:cpu trains at 192).
  * Narrower ResNet (32-64-128-128, one block per stage): about 0.5 GMAC per
    frame instead of about 10; the embedding stays 64-d.
  * No dilated head: the embedding is a linear projection of the last ResNet
    stage, as in MAST's network. Since tracking compares the encoder's
    features, the loss should shape those, not a head's: 2000 steps (seed 0) on
    all 171 sources give dev J&F 0.5407 against 0.5054 with the paper's 5-layer
    head of width 128, which the shipped vondrick_cpu has (BENCHMARKS.md,
    "Round 5"); a step is also cheaper.
  * Output stride 8 as in the paper (16x16 grid at 128x128).
  * Cosine affinity with temperature 0.05 (train and test) instead of raw dot
    products at T = 1 / 0.5, as later work (CRW: L2-normalized features, small
    temperature): the softmax is sharp from the first step instead of waiting
    for embedding norms to grow, which matters when few steps are affordable.
  * Tracking compares the last ResNet stage (`inference.features="encoder"`)
    and renormalizes soft masks per frame; BENCHMARKS.md has DAVIS scores
    with and without each (measured on the MAST cpu model).
  * Labels are copied from within 8 grid cells (64 px) of each location, not
    12: dev-set J&F 0.565 instead of 0.539 with the model after 4800 steps.
  * Batch 16 and 6000 steps with Adam 1e-3, dropped to 1e-4 at 4500 steps.
Measured here with the 5-layer head (benchmarks/train_throughput.py,
BENCHMARKS.md "Training"): 1.1 s/step = 14.4 clips/s, peak RSS 1.3 GiB (6000
steps: about 1.8 h); with the linear head 0.579 s/step at 128x128 crops, 1.318 at
192, 2.444 at 256 (idle, BENCHMARKS.md "Training").
Expected numbers: colortrack/pretrained/vondrick_cpu (the default tracker until
round 6, now one of the four networks of the default ensemble_cpu) is this preset with the 5-layer head (`--config.model.head_dilations='(1,2,4,8)'`)
trained for 4800 steps on ../shared/data/unlabeled at 6 fps, then
2000 more on clips of the same videos at 4, 6 and 10 fps (2 h 2 min here, in
three runs; exact commands in its MODEL_CARD.md), tracking with radius 8:
DAVIS-2016 dev J&F-Mean 0.566 (0.565 after the first 4800 steps; at radius 12,
the setting until then: 0.512 after 800 steps, 0.539 after 4800) with
  python -m eval.davis --davis_root=../shared/data/davis2016 --results_dir=/tmp/davis_model \
      --model=WORKDIR
(BENCHMARKS.md "Trained trackers"). The shipped export runs those weights at
output stride 4 with stages 3 + 4 as features, radius 16, top-20: 0.605 with
the same command and --model=colortrack/pretrained/vondrick_cpu (BENCHMARKS.md
"Round 4"). The 6000-step
schedule above has not been run in one piece; 4500 steps with the drop at 3000
(seed 0, all 171 sources, 43 min alone) give 0.5464 with
--memory=window --features=encoder (2000 at 1e-3: 0.5407; BENCHMARKS.md "A
second seed"). 2000 steps (seed 0) on 25 / 50 /
100% of the 171 sources of ../shared/data/unlabeled (videos,
davis2016-train-256p, videos_more; 4828 clips in all) give dev J&F 0.5062 /
0.4948 / 0.5054 with the 5-layer head at about 41 min per run (BENCHMARKS.md
"Data scaling"): at this length more sources do not help.
"""

from colortrack.configs import base


def get_config():
  config = base.use_cpu_sizes(base.get_base_config())
  config.model.head_dilations = ()  # a linear projection (configs/base.py says why)
  config.train.num_steps = 6000
  config.train.lr_drop_step = 4500
  return base.lock(config)
