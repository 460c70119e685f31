"""MODEL specs → a module and example inputs: model files, the torchvision/timm zoo, `.pt2`
programs, checkpoints; the one meta→real materializer.
"""
