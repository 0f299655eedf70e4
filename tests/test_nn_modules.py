import pytest
import torch

from sklocalize.nn import ConvTrunk, LandmarkNet, LocalizerNet


@pytest.mark.parametrize("stem_stride", [1, 2])
def test_trunk_reports_the_stride_of_every_stage(stem_stride):
    trunk = ConvTrunk(in_channels=1, width=4, depth=3, stem_stride=stem_stride)
    f, stages = trunk(torch.zeros(2, 1, 32, 32), return_stages=True)
    assert len(stages) == 4  # the stem, then each stage
    assert stages[-1] is f
    for out, stride, channels in zip(stages, trunk.stage_strides,
                                     trunk.stage_channels, strict=True):
        assert out.shape[1:] == (channels, 32 // stride, 32 // stride)


@pytest.mark.parametrize(("stem_stride", "heatmap_stride", "size"),
                         [(2, 4, 8), (2, 2, 16), (1, 4, 8), (1, 2, 16), (1, 1, 32),
                          (2, 8, 4), (1, 8, 4)])
def test_heatmap_stride_sets_the_heatmap_resolution(stem_stride, heatmap_stride,
                                                    size):
    net = LandmarkNet(n_landmarks=3, in_channels=1, width=4, depth=4,
                      stem_stride=stem_stride, heatmap_stride=heatmap_stride)
    presence, points, maps = net(torch.rand(2, 1, 32, 32))
    assert maps.shape == (2, 3, size, size)
    assert points.shape == (2, 6)
    assert net.fine.stride == heatmap_stride
    # every level of the top-down path is used: gradients reach them all
    maps.sum().backward()
    assert all(p.grad is not None for p in net.fine.parameters())


@pytest.mark.parametrize("stride", [0, -2, 2.5, "4", True])
def test_bad_strides_are_named(stride):
    with pytest.raises(ValueError, match="heatmap_stride must be a positive integer"):
        LandmarkNet(n_landmarks=2, in_channels=1, width=4, heatmap_stride=stride)
    with pytest.raises(ValueError, match="edge_stride must be a positive integer"):
        LocalizerNet(n_classes=2, in_channels=1, width=4, edge_stride=stride)


def test_finer_heatmaps_keep_the_readout_exact():
    # a heatmap peaked at one pixel reads out that pixel's centre, at any stride
    net = LandmarkNet(n_landmarks=1, in_channels=1, width=4, depth=3,
                      stem_stride=1, heatmap_stride=2).eval()
    maps = torch.full((1, 1, 16, 16), -1e4)
    maps[0, 0, 3, 11] = 0.0
    xy = net.soft_argmax(maps)
    torch.testing.assert_close(xy, torch.tensor([[11.5 / 16, 3.5 / 16]]))


def test_localizer_edges_head_runs_at_stride_four():
    net = LocalizerNet(n_classes=2, in_channels=1, width=4, depth=4, stem_stride=2)
    assert net.box.fine.stride == 4
    # training mode: the edge logits too, over the 16 columns and 16 rows
    presence, boxes, logits, (columns, rows) = net(torch.rand(2, 1, 64, 48))
    assert boxes.shape == (2, 4) and logits.shape == (2, 2)
    assert columns.shape == (2, 2, 12) and rows.shape == (2, 2, 16)
    presence, boxes, logits = net.eval()(torch.rand(2, 1, 64, 64))
    assert presence.shape == (2,) and boxes.shape == (2, 4)


def test_edge_logits_are_what_the_boxes_are_read_from():
    net = LocalizerNet(n_classes=2, in_channels=1, width=4, depth=3)
    _, boxes, _, (columns, rows) = net(torch.rand(3, 1, 32, 32))
    centres = (torch.arange(8) + 0.5) / 8
    x1, x2 = (torch.softmax(columns, dim=2) * centres).sum(dim=2).unbind(1)
    y1, y2 = (torch.softmax(rows, dim=2) * centres).sum(dim=2).unbind(1)
    torch.testing.assert_close(
        boxes, torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, y2 - y1, x2 - x1], dim=1))
    grid = LocalizerNet(n_classes=2, in_channels=1, width=4, depth=3, box_head="grid")
    assert len(grid(torch.rand(3, 1, 32, 32))) == 3  # no edges to return


@pytest.mark.parametrize(("top_down", "levels"),
                         [("every_stage", [3, 2, 1]), ("direct", [1])])
def test_edge_top_down_path(top_down, levels):
    # stem stride 2, depth 4: strides 2, 4, 8, 16, 32; the edges read stride 4
    net = LocalizerNet(n_classes=2, in_channels=1, width=4, depth=4, stem_stride=2,
                       edge_top_down=top_down)
    assert net.box.fine.levels == levels
    assert net.box.fine.stride == 4
    boxes = net(torch.rand(2, 1, 64, 64))[1]
    boxes.sum().backward()  # every level is used
    assert all(p.grad is not None for p in net.box.fine.parameters())


def test_top_down_is_validated_and_names_itself():
    with pytest.raises(ValueError, match="edge_top_down must be 'auto' or one of"):
        LocalizerNet(n_classes=2, in_channels=1, width=4, edge_top_down="fpn")
    with pytest.raises(ValueError, match="edge_top_down must be 'auto' or one of"):
        LocalizerNet(n_classes=2, in_channels=1, width=4, box_head="grid",
                     edge_top_down=None)
    with pytest.raises(ValueError, match="heatmap_top_down must be 'auto' or one"):
        LandmarkNet(n_landmarks=2, in_channels=1, width=4, heatmap_top_down="fpn")


@pytest.mark.parametrize(("backbone", "every_stage"),
                         [("scratch", False), ("mobilenet_v2", True),
                          ("efficientnet_lite0", True)])
def test_auto_top_down_goes_through_every_stage_of_a_pretrained_trunk(
        backbone, every_stage):
    # scratch: the stride-4 stage only; MobileNetV2 (strides 4..32): each stage
    loc = LocalizerNet(n_classes=2, backbone=backbone, width=4, depth=4,
                       stem_stride=2)
    marks = LandmarkNet(n_landmarks=2, backbone=backbone, width=4, depth=4,
                        stem_stride=2)
    for fine in (loc.box.fine, marks.fine):
        assert fine.stride == 4
        assert (len(fine.levels) > 1) == every_stage


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["mobilenet_v2", "efficientnet_lite0"])
@pytest.mark.parametrize("size", [64, 224])
def test_pretrained_trunk_networks_take_64_to_224_pixels(backbone, size):
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        presence, boxes, classes = LocalizerNet(
            n_classes=2, backbone=backbone).eval()(x)
        _, points = LandmarkNet(n_landmarks=3, backbone=backbone).eval()(x)
    assert boxes.shape == (1, 4) and classes.shape == (1, 2)
    assert points.shape == (1, 6) and presence.shape == (1,)


@pytest.mark.parametrize(("image_size", "stages", "deepest"),
                         [((64, 64), 3, 4), ((64, 96), 3, 4), ((128, 128), 4, 4),
                          ((80, 80), 4, 3), ((16, 16), 2, 4), ((24, 24), 3, 3),
                          (None, 4, None)])
def test_localizer_auto_depth_brings_the_deepest_map_to_four_cells(
        image_size, stages, deepest):
    net = LocalizerNet(n_classes=2, in_channels=1, width=4, image_size=image_size)
    assert len(net.trunk.stages) == stages
    if image_size is not None:
        f = net.trunk(torch.rand(1, 1, *image_size))
        assert min(f.shape[-2:]) == deepest
        assert net.eval()(torch.rand(2, 1, *image_size))[1].shape == (2, 4)


@pytest.mark.parametrize("depth", [0, -1, 2.5, True, "deep"])
def test_localizer_depth_is_validated_and_names_itself(depth):
    with pytest.raises(ValueError, match="depth must be a positive integer or 'auto'"):
        LocalizerNet(n_classes=2, in_channels=1, width=4, depth=depth)


@pytest.mark.parametrize(("image_size", "stages"),
                         [((64, 64), 3), ((64, 96), 3), ((128, 128), 4),
                          ((80, 80), 4), ((16, 16), 2), ((24, 24), 3), (None, 4)])
def test_landmark_auto_depth_follows_the_localizer_rule(image_size, stages):
    net = LandmarkNet(n_landmarks=2, in_channels=1, width=4, depth="auto",
                      image_size=image_size)
    localizer = LocalizerNet(n_classes=2, in_channels=1, width=4, depth="auto",
                             image_size=image_size)
    assert len(net.trunk.stages) == len(localizer.trunk.stages) == stages
    size = image_size or (32, 32)
    presence, points = net.eval()(torch.rand(2, 1, *size))
    assert presence.shape == (2,) and points.shape == (2, 4)


def test_landmark_depth_defaults_to_four_stages():
    # "auto" is opt-in: the default trunk is the one the LFW benchmark used
    net = LandmarkNet(n_landmarks=2, in_channels=1, width=4, image_size=(64, 64))
    assert len(net.trunk.stages) == 4


@pytest.mark.parametrize("depth", [0, -1, 2.5, True, "deep", None])
def test_landmark_depth_is_validated_and_names_itself(depth):
    with pytest.raises(ValueError,
                       match=r"depth must be a positive integer or 'auto'; got "):
        LandmarkNet(n_landmarks=2, in_channels=1, width=4, depth=depth)
