"""The numbers NAS-Bench-101 (Ying et al., ICML 2019) states about its table, with their
sections, for the side-by-side comparison; and the hand-designed cells it names."""
from __future__ import annotations

#: Hashes of the cells the paper names (shared/data/README.md).
RESNET_HASH = "b5fb4f6193360330b6ff6a52cbf0cad7"
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"

#: key -> (section, what, the paper's value as it states it, the value as a number or None)
PAPER = {
    "best_test": ("3.1", "best cell's mean test accuracy", "94.32 %", 0.9432),
    "resnet_test": ("3.1", "ResNet-like cell's mean test accuracy", "93.12 %", 0.9312),
    "inception_test": ("3.1", "Inception-like cell's mean test accuracy", "92.95 %", 0.9295),
    "valid_test_r": ("3.1", "validation-test Pearson r at 108 epochs", "0.999", 0.999),
    "above_90": ("3.1", "cells above 90 % validation and test accuracy", "a majority", None),
    "c3_c1": ("3.2", "conv3x3 -> conv1x1: accuracy / training time", "-1.16 % / -14.11 %",
              (-0.0116, -0.1411)),
    "c3_mp": ("3.2", "conv3x3 -> maxpool3x3: accuracy / training time", "-1.99 % / -9.84 %",
              (-0.0199, -0.0984)),
    "c1_mp": ("3.2", "conv1x1 -> maxpool3x3: accuracy / training time", "-0.81 % / +5.04 %",
              (-0.0081, 0.0504)),
    "best_depth": ("3.2", "depth with the best mean accuracy", "3", 3),
    "best_width": ("3.2", "width with the best mean accuracy", "5 (the maximum)", 5),
    "rwa_distance": ("3.3", "RWA indistinguishable from noise beyond distance", "about 6", 6),
    "fdc_width": ("3.3", "FDC: coarse-grained locality width", "about 6", 6),
    "best_points": ("3.3", "encoded points (peaks) of the best cell", "4", 4),
    "near_best": ("3.3", "other cells within 2 s.e. of the best mean test accuracy", "11", 11),
    "top_points": ("3.3", "encoded points of those top cells", "11,570", 11570),
    "top_chance": ("3.3", "chance that a uniform encoded point is a top cell", "1 in 50,000",
                   1 / 50000),
    "within_6": ("3.3", "encoded space within distance 6 of the closest top cell", "35.4 %",
                 0.354),
    "rho_36_108_top10": ("S Fig. 7", "Spearman rho, 36 vs 108 epochs, top 10 %", "0.365",
                         0.365),
}
