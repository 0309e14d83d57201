"""Training: configs, data sources and augmentation, the training loop, checkpoints, CLI verbs.

``occseg train clicks --config configs/clicknet-hrnet18s-cpu.yaml`` trains the click model
(:func:`occseg.train.clicks.train_clicks`); see that module for multi-process training.
"""
