"""The three small networks of the reference pipeline (torch; training time only)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - torch's own convention

from imaging.joints import EROSION_GRADES, JSN_GRADES, N_JOINTS


def _block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Localiser(nn.Module):
    """A small U-Net: 1 x 128 x 128 image -> 11 joint heatmaps at 64 x 64 (sigmoid, 0-1).

    The 8 x 8 bottleneck with dilated convolutions sees the whole hand, which it needs to tell
    MCP2 from MCP5 (and a left hand from a right one)."""

    def __init__(self) -> None:
        super().__init__()
        self.e1 = nn.Sequential(_block(1, 16, stride=2), _block(16, 24))  # 64
        self.e2 = nn.Sequential(_block(24, 48), _block(48, 48))  # 32
        self.e3 = nn.Sequential(_block(48, 64), _block(64, 64))  # 16
        self.b = nn.Sequential(_block(64, 64), _block(64, 64, dilation=2))  # 8
        self.d3 = _block(128, 48)
        self.d2 = _block(96, 32)
        self.d1 = _block(56, 24)
        self.out = nn.Conv2d(24, N_JOINTS, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        e3 = self.e3(F.max_pool2d(e2, 2))
        b = self.b(F.max_pool2d(e3, 2))
        d3 = self.d3(torch.cat([F.interpolate(b, scale_factor=2.0), e3], 1))
        d2 = self.d2(torch.cat([F.interpolate(d3, scale_factor=2.0), e2], 1))
        d1 = self.d1(torch.cat([F.interpolate(d2, scale_factor=2.0), e1], 1))
        return torch.sigmoid(self.out(d1))


class LocaliserExport(nn.Module):
    """The graph shipped as the localiser bundle: the image and its mirror image in one batch,
    the mirror's heatmaps flipped back and averaged. The net knows left from right hands, so the
    flipped-back heatmap of joint k still marks joint k: the averaged localiser is exactly
    mirror-equivariant, and a mirrored radiograph gets mirrored joint centres."""

    def __init__(self, net: Localiser) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        hm = self.net(torch.cat([x, torch.flip(x, dims=[3])], 0))
        return (hm[:n] + torch.flip(hm[n:], dims=[3])) / 2


class JointScorer(nn.Module):
    """1 x 48 x 48 joint crop -> JSN (5) and erosion (6) logits.

    Global average pooling followed by one linear layer per head, so that the class activation
    map (CAM, Zhou et al. 2016) of any class is the same linear layer applied at every position
    of the last feature maps: the saliency costs one small matrix product, not a second pass."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            _block(1, 16),
            _block(16, 16),
            nn.MaxPool2d(2),  # 24
            _block(16, 32),
            _block(32, 32),
            nn.MaxPool2d(2),  # 12
            _block(32, 48),
            _block(48, 64),
        )
        self.jsn = nn.Linear(64, JSN_GRADES)
        self.erosion = nn.Linear(64, EROSION_GRADES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.trunk(x).mean(dim=(2, 3))
        return self.jsn(pooled), self.erosion(pooled)


class ScorerExport(nn.Module):
    """The graph shipped as the joint-scorer bundle: logits and CAMs in one pass.

    The crop and its mirror image are scored together and averaged (CAMs mirrored back), so a
    left hand and the mirrored right hand get exactly the same scores by construction."""

    def __init__(self, net: JointScorer) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor):
        n = x.shape[0]
        feats = self.net.trunk(torch.cat([x, torch.flip(x, dims=[3])], 0))
        outs = []
        for head in (self.net.jsn, self.net.erosion):
            cam = torch.einsum("kc,nchw->nkhw", head.weight, feats)
            cam = cam + head.bias[None, :, None, None]
            cam = (cam[:n] + torch.flip(cam[n:], dims=[3])) / 2
            # GAP then linear == mean of the CAM over positions (linearity).
            outs.append((cam.mean(dim=(2, 3)), cam))
        (jsn_logits, jsn_cam), (ero_logits, ero_cam) = outs
        return jsn_logits, ero_logits, jsn_cam, ero_cam


class ScorerPlain(nn.Module):
    """The same weights without the maps: the benchmark's "one plain inference"."""

    def __init__(self, net: JointScorer) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor):
        n = x.shape[0]
        jsn, ero = self.net(torch.cat([x, torch.flip(x, dims=[3])], 0))
        return (jsn[:n] + jsn[n:]) / 2, (ero[:n] + ero[n:]) / 2


class RaHead(nn.Module):
    """Per-joint calibrated class probabilities (N, 11, 5 + 6) -> RA-pattern logit (N, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * N_JOINTS, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        p_jsn2 = probs[:, :, 2:JSN_GRADES].sum(dim=2)  # narrowing grade >= 2
        p_ero = 1 - probs[:, :, JSN_GRADES]  # any erosion
        return self.mlp(torch.cat([p_jsn2, p_ero], dim=1))
