"""Train a network: ``python train.py style=starry loss=crosslayer`` (the same as ``stylenet train ...``)."""

from stylenet.training import main, train

__all__ = ["train"]

if __name__ == "__main__":
    main()
