"""pytest options of the cocotb testbenches: seeds and parameter sets.

``--seed N`` (or the environment's ``SEED=N``) runs the cocotb tests with that seed
only; ``--seeds K`` runs the random tests with seeds ``1..K`` and ``--seed-list 3,7``
with those (the regression); by default the directed tests run with seed 1 and the
random tests with seeds 1 and 2. The directed tests run on the skip build, and those
whose commands fail (``POLICY_SENSITIVE``) on the stall build too; ``--all-policies``
(implied by ``--seeds`` and ``--seed-list``) runs every test on every build.
"""

import os

DEFAULT_RANDOM_SEEDS = (1, 2)


def pytest_addoption(parser):
    group = parser.getgroup("its-tb", "ITS cocotb testbenches")
    group.addoption("--seed", type=int, default=None,
                    help="run the cocotb tests with this seed only (also: SEED=N)")
    group.addoption("--seeds", type=int, default=None,
                    help="run the random cocotb tests with seeds 1..N (and --all-policies)")
    group.addoption("--seed-list", default=None, metavar="S,S,...",
                    help="run the random cocotb tests with these seeds (and --all-policies)")
    group.addoption("--all-policies", action="store_true",
                    help="run every directed cocotb test on every parameter set")


def _seeds(config, random):
    seed = config.getoption("--seed")
    if seed is None and os.environ.get("SEED"):
        seed = int(os.environ["SEED"])
    if seed is not None:
        return [seed]
    if not random:
        return [1]
    listed = config.getoption("--seed-list")
    if listed:
        return [int(part) for part in listed.split(",") if part.strip()]
    count = config.getoption("--seeds")
    return list(range(1, count + 1)) if count else list(DEFAULT_RANDOM_SEEDS)


def pytest_generate_tests(metafunc):
    name = metafunc.function.__name__
    if name not in ("test_directed", "test_random") or "seed" not in metafunc.fixturenames:
        return
    module, config = metafunc.module, metafunc.config
    everything = (config.getoption("--all-policies") or config.getoption("--seeds")
                  or config.getoption("--seed-list"))
    runs = []
    for testcase in (module.DIRECTED if name == "test_directed" else module.RANDOM):
        for policy in module.PARAM_SETS:
            if (everything or name == "test_random" or policy == "skip"
                    or testcase in module.POLICY_SENSITIVE):
                runs += [(seed, testcase, policy) for seed in _seeds(config,
                                                                     name == "test_random")]
    metafunc.parametrize(("seed", "testcase", "policy"), runs,
                         ids=[f"{testcase}-{policy}-seed{seed}" for seed, testcase, policy in runs])
