"""Trains a tiny nearest-centroid classifier on a synthetic two-class data
set and prints the model and its training accuracy as JSON on stdout (the
command task parses it). Standard library only.

Usage: python3 train.py [--samples N] [--seed S]"""

import argparse
import json
import random
import sys
from datetime import date


def make_data(n, rng):
    data = []
    for _ in range(n):
        label = rng.random() < 0.5
        cx, cy = (0.8, 0.7) if label else (0.2, 0.3)
        data.append(((rng.gauss(cx, 0.15), rng.gauss(cy, 0.15)), int(label)))
    return data


def fit(data):
    sums = {0: [0.0, 0.0, 0], 1: [0.0, 0.0, 0]}
    for (x, y), label in data:
        s = sums[label]
        s[0] += x
        s[1] += y
        s[2] += 1
    return [[round(s[0] / max(s[2], 1), 4), round(s[1] / max(s[2], 1), 4)] for s in (sums[0], sums[1])]


def predict(centroids, point):
    dist = [(point[0] - c[0]) ** 2 + (point[1] - c[1]) ** 2 for c in centroids]
    return dist.index(min(dist))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    data = make_data(args.samples, rng)
    centroids = fit(data)
    accuracy = sum(predict(centroids, p) == label for p, label in data) / len(data)
    print(f"trained on {len(data)} samples", file=sys.stderr)
    json.dump(
        {
            "model": {"name": "centroids", "version": f"{date.today().isoformat()}.{args.seed}", "centroids": centroids},
            "samples": len(data),
            "train_accuracy": round(accuracy, 4),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
