"""What touches the disk or the network: the weights (`weights`: a download, a package or a file),
pictures as files (`imagefiles`: uploads decoded, results written), pictures kept by key (`cache`:
the cache root, the weights' digest, the PNG store, the Hub download of a shared cache), the scan of
a folder of photos for each channel's strongest patches (`patches`) and disk budgets (`disk`). It
stands on the model and the images, never on an analysis; the analyses that keep pictures (the
Microscope's `viz.atlas`) call it.
"""
