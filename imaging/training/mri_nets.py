"""The MRI bundles' networks (torch; training time only). All are 2.5D: the series' slices are
the input channels of 2D convolutions, which is cheap on a CPU and enough for volumes of 16
slices.

- `DenseNet25D` (spine-berlin, hand-mri-arthritis): a small U-Net with three dense heads at half
  resolution: region-centre heatmaps (the localiser: disc centres for the 23 Berlin units, or
  the MCP 2-5 and wrist centres), grade logits at every position (read at each located centre),
  and a per-slice lesion map. The lesion map is the saliency: the dense class-evidence map of a
  fully convolutional network (the FCN form of a class activation map), trained with the
  phantom's lesion masks as deep supervision, so score and saliency come out of one pass.
- `SijEnsemble` (sij-axspa): a small CNN (global average pooling + linear, so its class
  activation map is one matrix product on the last features) and a small vision transformer on
  8 x 8 patches; the bundle averages their calibrated probabilities, as the seed system does.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - torch's own convention


def _block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class DenseNet25D(nn.Module):
    """(N, slices, H, W) -> heatmaps (N, K, H/2, W/2) 0-1, logits (N, F*G, H/2, W/2),
    saliency (N, slices, H/2, W/2) 0-1."""

    def __init__(
        self, slices: int, n_heat: int, n_logits: int, width: int = 16, coords: bool = False
    ) -> None:
        super().__init__()
        w = width
        # CoordConv (Liu et al. 2018): two channels of row and column position, so the hand's
        # heatmaps can tell MCP2 from MCP5 by where they are, not only by what is around them.
        self.coords = coords
        cin = slices + (2 if coords else 0)
        self.e1 = nn.Sequential(_block(cin, w, stride=2), _block(w, w))  # /2
        self.e2 = nn.Sequential(_block(w, 2 * w, stride=2), _block(2 * w, 2 * w))  # /4
        self.e3 = nn.Sequential(_block(2 * w, 3 * w, stride=2), _block(3 * w, 3 * w))  # /8
        self.b = nn.Sequential(_block(3 * w, 3 * w, dilation=2), _block(3 * w, 3 * w, dilation=4))
        self.d2 = _block(5 * w, 2 * w)
        self.d1 = _block(3 * w, w)
        self.heat = nn.Conv2d(w, n_heat, 1)
        self.logits = nn.Conv2d(w, n_logits, 1)
        self.saliency = nn.Conv2d(w, slices, 1)

    def with_coords(self, x: torch.Tensor) -> torch.Tensor:
        if not self.coords:
            return x
        n, _, h, w = x.shape
        rows = torch.linspace(-1, 1, h).view(1, 1, h, 1).expand(n, 1, h, w)
        cols = torch.linspace(-1, 1, w).view(1, 1, 1, w).expand(n, 1, h, w)
        return torch.cat([x, rows, cols], 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.e1(self.with_coords(x))
        e2 = self.e2(e1)
        b = self.b(self.e3(e2))
        d2 = self.d2(torch.cat([F.interpolate(b, scale_factor=2.0), e2], 1))
        return self.d1(torch.cat([F.interpolate(d2, scale_factor=2.0), e1], 1))

    def forward(self, x: torch.Tensor):
        d1 = self.features(x)
        return torch.sigmoid(self.heat(d1)), self.logits(d1), torch.sigmoid(self.saliency(d1))


class DensePlain(nn.Module):
    """The same weights without the saliency head: what the benchmark's "one inference" (a full
    score without saliency) runs."""

    def __init__(self, net: DenseNet25D) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor):
        d1 = self.net.features(x)
        return torch.sigmoid(self.net.heat(d1)), self.net.logits(d1)


class SijCnn(nn.Module):
    def __init__(self, slices: int, width: int = 24) -> None:
        super().__init__()
        w = width
        self.trunk = nn.Sequential(
            _block(slices, w, stride=2),
            _block(w, w),
            _block(w, 2 * w, stride=2),
            _block(2 * w, 2 * w),
            _block(2 * w, 3 * w, stride=2),
            _block(3 * w, 3 * w, dilation=2),
        )
        self.head = nn.Linear(3 * w, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x).mean(dim=(2, 3)))

    def with_cam(self, x: torch.Tensor):
        feats = self.trunk(x)
        cam = torch.einsum("kc,nchw->nkhw", self.head.weight, feats)
        cam = cam + self.head.bias[None, :, None, None]
        return cam.mean(dim=(2, 3)), cam  # GAP then linear == mean of the CAM (linearity)


class _Attention(nn.Module):
    """Multi-head self-attention written with matmuls (exports to any ONNX opset)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(x).reshape(-1, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) * (d // h) ** -0.5, dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(-1, t, d))


class _Layer(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.att = _Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.att(self.n1(x))
        return x + self.mlp(self.n2(x))


class SijVit(nn.Module):
    """A small hybrid ViT (Dosovitskiy et al. 2021, section 3.1): a two-block convolutional
    stem to stride 4, 2 x 2 patches of its features (tokens at stride 8), three attention
    layers, then the tokens' mean and max (a lesion anywhere counts) into a linear head."""

    def __init__(self, slices: int, size: tuple[int, int], dim: int = 64, depth: int = 3):
        super().__init__()
        self.patch = nn.Sequential(
            _block(slices, 32, stride=2), _block(32, 48, stride=2), nn.Conv2d(48, dim, 2, 2)
        )
        tokens = (size[0] // 8) * (size[1] // 8)
        self.pos = nn.Parameter(torch.zeros(1, tokens, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.layers = nn.Sequential(*[_Layer(dim, 4) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(2 * dim, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        t = self.norm(self.layers(t))
        return self.head(torch.cat([t.mean(dim=1), t.amax(dim=1)], dim=1))


class SijEnsemble(nn.Module):
    """The shipped graph: both members' logits and the CNN's class activation map."""

    def __init__(self, cnn: SijCnn, vit: SijVit) -> None:
        super().__init__()
        self.cnn, self.vit = cnn, vit

    def forward(self, x: torch.Tensor):
        cnn_logits, cam = self.cnn.with_cam(x)
        return cnn_logits, self.vit(x), cam


class SijPlain(nn.Module):
    def __init__(self, cnn: SijCnn, vit: SijVit) -> None:
        super().__init__()
        self.cnn, self.vit = cnn, vit

    def forward(self, x: torch.Tensor):
        return self.cnn(x), self.vit(x)
