"""nn: neurons, layers, MLPs, losses, optimizers, toy data, and the NumPy version to check them."""
