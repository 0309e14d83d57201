"""Training: configs (one shared loop config), data sources and augmentation, the training loop.

``occseg train KIND --config FILE`` (:mod:`occseg.train.run`) trains the click model
(``clicks``, :func:`occseg.train.clicks.train_clicks`), the occlusion-boundary model
(``boundaries``) or the occlusion-order network (``order``); see :mod:`occseg.train.clicks` for
multi-process training.
"""
