"""The SeBS storage API of runtimes/gcp/python/storage.py against the Cloud Storage emulator
(argv[1]: the shim directory, argv[2]: a scratch directory; STORAGE_EMULATOR_HOST set by the test)."""
import os
import sys

sys.path.insert(0, sys.argv[1])
import storage

scratch = sys.argv[2]
client = storage.storage.get_instance()
client.create_bucket("sebs-benchmarks-test")
client.create_bucket("sebs-benchmarks-test")  # exists: no error
src = os.path.join(scratch, "in.bin")
with open(src, "wb") as f:
    f.write(bytes(range(256)) * 1000)
key = client.upload("sebs-benchmarks-test", "input/data.bin", src)
assert key.startswith("input/data.") and key.endswith(".bin") and key != "input/data.bin", key
client.upload_file("sebs-benchmarks-test", "input/fixed name.bin", src)
streamed = client.upload_stream("sebs-benchmarks-test", "output/x.txt", b"streamed")
assert client.download_stream("sebs-benchmarks-test", streamed) == b"streamed"
client.download("sebs-benchmarks-test", key, os.path.join(scratch, "out", "copy.bin"))
with open(os.path.join(scratch, "out", "copy.bin"), "rb") as f:
    assert f.read() == bytes(range(256)) * 1000
listed = sorted(client.list("sebs-benchmarks-test", "input/"))
assert listed == sorted([key, "input/fixed name.bin"]), listed
assert client.exists("sebs-benchmarks-test", "input/fixed name.bin")
assert not client.exists("sebs-benchmarks-test", "input/missing")
client.download_directory("sebs-benchmarks-test", "input/", os.path.join(scratch, "dir"))
assert os.path.exists(os.path.join(scratch, "dir", "input", "fixed name.bin"))
print("storage ok")
