"""The frozen, torch-free graph (nodes, tensor specs, typed attributes) and dataflow helpers
over it.
"""
