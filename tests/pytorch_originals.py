"""What the log's PyTorch models count, measured once from them: the figures the ports must equal."""

# Trainable parameters at 200 classes, and the pretrained models' totals
# (torch parameters, buffers excluded).
ORIGINAL_TRAINABLE = {
    "baseline": 119_764,
    "ts_cnn": 874_256,
    "like_vgg": 1_319_976,
    "ai_inno_cnn": 517_264,
    "vgg16_bn": 120_365_256,
    "resnet50": 409_800,
}
ORIGINAL_TOTAL = {"vgg16_bn": 135_088_392, "resnet50": 23_917_832}
