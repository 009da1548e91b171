//! litecnn-bundle/1 model bundles: checksums, digest, minisign signature, manifest, labels, golden check.
