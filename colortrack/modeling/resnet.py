"""ResNet-18 encoder with a configurable output stride (dilated later stages)."""

from typing import Dict, Sequence

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="colortrack")
class BasicBlock(layers.Layer):
  """ResNet basic block: two 3x3 convs and a residual connection.

  Input `[B, H, W, C_in]` -> output `[B, ceil(H / stride), ceil(W / stride), filters]`.
  A 1x1 projection is used on the shortcut when the shape changes.
  """

  def __init__(self, filters: int, stride: int = 1, dilation: int = 1, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.stride = stride
    self.dilation = dilation
    self.conv1 = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                               dilation_rate=1 if stride > 1 else dilation)
    self.bn1 = layers.BatchNormalization()
    self.conv2 = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                               dilation_rate=dilation)
    self.bn2 = layers.BatchNormalization()
    self.projection = None
    self.projection_bn = None

  def build(self, input_shape):
    if self.stride != 1 or input_shape[-1] != self.filters:
      self.projection = layers.Conv2D(self.filters, 1, strides=self.stride, use_bias=False)
      self.projection_bn = layers.BatchNormalization()
      self.projection.build(input_shape)
      self.projection_bn.build(self.projection.compute_output_shape(input_shape))
    self.conv1.build(input_shape)
    shape = self.conv1.compute_output_shape(input_shape)
    self.bn1.build(shape)
    self.conv2.build(shape)
    self.bn2.build(shape)

  def call(self, x, training=False):
    shortcut = x
    if self.projection is not None:
      shortcut = self.projection_bn(self.projection(x), training=training)
    y = keras.ops.relu(self.bn1(self.conv1(x), training=training))
    y = self.bn2(self.conv2(y), training=training)
    return keras.ops.relu(y + shortcut)

  def compute_output_shape(self, input_shape):
    return self.conv1.compute_output_shape(input_shape)[:-1] + (self.filters,)

  def get_config(self):
    config = super().get_config()
    config.update(filters=self.filters, stride=self.stride, dilation=self.dilation)
    return config


@keras.saving.register_keras_serializable(package="colortrack")
class ResNetEncoder(layers.Layer):
  """ResNet (18 by default) returning named stages.

  Input `[B, H, W, C]` (gray in [-1, 1] for the colorizer). Output: dict with
  "stem" (stride 4) and "stage1".."stage4"; strides 4, 8, 16, 32 for the
  classification network, capped at `output_stride` by replacing stride with
  dilation (8: stages 3 and 4 keep stride 8 with dilation 2 and 4). Spatial
  size of a stage with stride s is ceil(H / s) x ceil(W / s).
  """

  def __init__(self, widths: Sequence[int] = (64, 128, 256, 512),
               blocks: Sequence[int] = (2, 2, 2, 2), output_stride: int = 8, **kwargs):
    super().__init__(**kwargs)
    if output_stride not in (4, 8, 16, 32):
      raise ValueError(f"output_stride must be 4, 8, 16 or 32, got {output_stride}")
    self.widths = tuple(widths)
    self.blocks = tuple(blocks)
    self.output_stride = output_stride
    self.stem_conv = layers.Conv2D(widths[0], 7, strides=2, padding="same", use_bias=False)
    self.stem_bn = layers.BatchNormalization()
    self.stem_pool = layers.MaxPooling2D(3, strides=2, padding="same")
    self.stages = []
    stride, dilation = 4, 1
    for index, (width, count) in enumerate(zip(self.widths, self.blocks)):
      block_stride = 1 if index == 0 else 2
      if stride * block_stride > output_stride:
        dilation *= block_stride
        block_stride = 1
      stride *= block_stride
      stage = [BasicBlock(width, stride=block_stride if i == 0 else 1,
                          dilation=dilation, name=f"stage{index + 1}_block{i + 1}")
               for i in range(count)]
      self.stages.append(stage)

  def call(self, x, training=False) -> Dict[str, keras.KerasTensor]:
    x = keras.ops.relu(self.stem_bn(self.stem_conv(x), training=training))
    x = self.stem_pool(x)
    outputs = {"stem": x}
    for index, stage in enumerate(self.stages):
      for block in stage:
        x = block(x, training=training)
      outputs[f"stage{index + 1}"] = x
    return outputs

  def get_config(self):
    config = super().get_config()
    config.update(widths=self.widths, blocks=self.blocks, output_stride=self.output_stride)
    return config
