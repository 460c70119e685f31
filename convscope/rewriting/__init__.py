"""Depthwise-separable and spatialize rewrites: plans (pure), application, verification, export."""
