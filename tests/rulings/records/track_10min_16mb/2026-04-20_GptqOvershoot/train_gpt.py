import os

import torch


def main():
    seed = int(os.environ.get("SEED", "1337"))
    torch.manual_seed(seed)
    print(f"seed:{seed}")


if __name__ == "__main__":
    main()
