"""Does the FiLM generator's trunk activation decide whether the network learns the organ? (multi-organ sample data)

Trains the multi-organ bundle's FiLMed U-Net (``ivadomed_film`` preset, widths 8..128) with the sigmoid trunk of
ivadomed and with a ReLU trunk for the same number of steps, from the same seed and batches, and prints the
validation Dice of each organ given its own organ and given each other organ. A network that ignores the organ
draws the same mask whatever it is told. Plain torch loop (Dice loss, Adam 1e-3, organ-balanced batches of 8), so
that only the activation differs; about 2 minutes per arm for 1,500 steps on 2 CPU cores.

    metaseg sample-data multi-organ /tmp/mo
    python scripts/film_trunk_activation.py /tmp/mo --steps 1500
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from metaseg_monai.data import multiorgan_slice_datalist
from metaseg_monai.data.multiorgan import ORGANS
from metaseg_monai.networks import MetaUNet

HU_MIN, HU_MAX, SIZE = -200.0, 300.0, 64


def tensors(datalist):
    images, labels, organs = [], [], []
    for sample in datalist:
        image = np.clip((sample["image"].astype(np.float32) - HU_MIN) / (HU_MAX - HU_MIN), 0, 1)
        pad = [(0, 0)] + [(0, max(0, SIZE - s)) for s in image.shape[1:]]
        images.append(np.pad(image, pad)[:, :SIZE, :SIZE])
        labels.append(np.pad(sample["label"].astype(np.int64), pad)[:, :SIZE, :SIZE])
        organs.append(ORGANS.index(sample["organ"]))
    return torch.tensor(np.stack(images)), torch.tensor(np.stack(labels)), torch.tensor(organs)


def dice_per_organ(net, data, given=None):
    images, labels, organs = data
    scores = {o: [] for o in ORGANS}
    net.eval()
    with torch.no_grad():
        for i in range(0, len(images), 32):
            organ = organs[i : i + 32] if given is None else torch.full_like(organs[i : i + 32], given)
            pred = net(images[i : i + 32], F.one_hot(organ, len(ORGANS)).float()).argmax(1, keepdim=True) == 1
            for p, y, o in zip(pred.float(), labels[i : i + 32].float(), organs[i : i + 32], strict=True):
                scores[ORGANS[o]].append(float((2 * (p * y).sum() + 1e-5) / (p.sum() + y.sum() + 1e-5)))
    net.train()
    return {o: float(np.mean(v)) for o, v in scores.items()}


def train(act, train_data, steps, seed):
    torch.manual_seed(seed)
    net = MetaUNet.from_preset(
        "ivadomed_film", 2, 1, 2, metadata_dim=len(ORGANS), features=(8, 16, 32, 64, 128, 128), film_trunk_act=act
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    images, labels, organs = train_data
    weights = 1.0 / torch.bincount(organs).double()[organs]  # each organ drawn as often
    batches = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.multinomial(weights, 8, replacement=True, generator=batches)
        logits = net(images[idx], F.one_hot(organs[idx], len(ORGANS)).float())
        fg, y = logits.softmax(1)[:, 1:], labels[idx].float()
        loss = (1 - (2 * (fg * y).sum((2, 3)) + 1e-5) / (fg.sum((2, 3)) + y.sum((2, 3)) + 1e-5)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset_dir")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    train_data = tensors(multiorgan_slice_datalist(args.dataset_dir, "train"))
    val_data = tensors(multiorgan_slice_datalist(args.dataset_dir, "val"))
    print(f"{len(train_data[0])} training and {len(val_data[0])} validation slices; {args.steps} steps per arm")
    for act in ("sigmoid", "relu"):
        start = time.perf_counter()
        net = train(act, train_data, args.steps, args.seed)
        print(f"\ntrunk {act} ({time.perf_counter() - start:.0f} s): validation Dice, rows = true organ")
        print("  given:   " + "".join(f"{o:>9}" for o in ORGANS))
        table = {g: dice_per_organ(net, val_data, ORGANS.index(g)) for g in ORGANS}
        for true in ORGANS:
            print(f"  {true:<8} " + "".join(f"{table[g][true]:9.3f}" for g in ORGANS))


if __name__ == "__main__":
    main()
