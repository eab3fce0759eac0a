"""Networks of train_lowbit.py, for 1 x 28 x 28 inputs (Fashion-MNIST) and 10 classes.

Each class constructs with no arguments, so trace_torch.py can trace it
(--module workloads/tools/lowbit_nets.py:LeNet5).

  LeNet5    conv 5x5 1->6 (pad 2) - relu - maxpool 2 - conv 5x5 6->16 - relu - maxpool 2 -
            fc 400->120 - relu - fc 120->84 - relu - fc 84->10                (LeNet-5 size)
  ResNet20  CIFAR-style ResNet-20 (He et al. 2016) adapted to 28x28: conv 3x3 1->16, three
            stages of 3 basic blocks with 16/32/64 channels (stride 2 at stages 2 and 3:
            28 -> 14 -> 7), 1x1 projection shortcuts where the shape changes (option B),
            global average pool, fc 64->10.
"""

import torch.nn as nn


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(400, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = x.flatten(1)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        out = out + identity
        return self.relu(out)


class ResNet20(nn.Module):
    def __init__(self, blocks=3, widths=(16, 32, 64), classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        layers = []
        cin = widths[0]
        for i, w in enumerate(widths):
            stage = []
            for b in range(blocks):
                stage.append(BasicBlock(cin, w, 2 if (i > 0 and b == 0) else 1))
                cin = w
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3 = layers
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.pool(x).flatten(1)
        return self.fc(x)


MODELS = {"lenet5": LeNet5, "resnet20": ResNet20}
