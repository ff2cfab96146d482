"""Arbitrary-style transfer with a meta network (Shen et al. 2017): training and inference."""
