"""What touches the disk or the network: the weights (`weights`: a download, a package or a file),
pictures as files (`imagefiles`: uploads decoded, results written), the Microscope's picture cache,
its sharing through the Hugging Face Hub and its precomputing command (`atlas`), the scan of a folder
of photos for each channel's strongest patches (`patches`) and disk budgets (`disk`). Everything else
in `viz` takes numpy arrays and plain values and returns numpy arrays and numbers.
"""
