import torch
import torch.nn.functional as F
from torch import nn


class Model(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.fc1 = nn.Linear(in_features=d_in, out_features=32)
        self.fc2 = nn.Linear(in_features=32, out_features=d_out)

    def forward(self, x):
        hidden = F.relu(self.fc1(x))
        return self.fc2(hidden)


if __name__ == "__main__":
    print(Model(5, 3)(torch.randn(4, 5)).shape)
