"""The engine: the one optimization loop (`optimize`) and its parts, after Lucid's optvis: what is
optimized (`param`: pixels, or Fourier with decorrelated colour), what it is optimized for
(`objectives`) and what the network sees of it (`transforms`: jitter, scale, rotate). The analyses
(reconstruction, visualization, style transfer, the building blocks) are this loop with other parts.
"""
