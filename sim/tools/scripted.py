"""The scripted set-up of ``its demo``, ``its query`` and ``its host``.

Collection ``c`` goes to CPU ``c``; device ``d`` in ``0..devices-1`` gets an ITT for
``events`` events, and event ``e`` of device ``d`` becomes LPI
``8192 + d * events + e`` (:func:`scripted_lpi`) on collection ``(d + e) mod CPUs``
(:func:`scripted_collection`).
"""

from gic.hw.its import layouts as L
from gic.sim.driver.bus import ModelBus
from gic.sim.driver.its import ItsDriver

__all__ = ["scripted_lpi", "scripted_collection", "check_fits", "bring_up", "strays"]


def scripted_lpi(device_id, event_id, events):
    """The LPI the scripted set-up maps (DeviceID, EventID) to."""
    return L.LPI_BASE + device_id * events + event_id


def scripted_collection(device_id, event_id, cpus):
    """The collection (= CPU = redistributor) the scripted set-up maps the event to."""
    return (device_id + event_id) % cpus


def check_fits(params, devices, events):
    """Raise ValueError when the scripted devices, events or LPIs do not fit ``params``."""
    if devices > 1 << params.device_bits:
        raise ValueError(f"--devices {devices} exceeds the {1 << params.device_bits} DeviceIDs "
                         f"of device_bits={params.device_bits}")
    if events > 1 << params.event_bits:
        raise ValueError(f"--events {events} exceeds the {1 << params.event_bits} EventIDs "
                         f"of event_bits={params.event_bits}")
    if scripted_lpi(devices - 1, events, events) > 1 << params.id_bits:
        raise ValueError(f"{devices} devices x {events} events need {devices * events} LPIs, "
                         f"but id_bits={params.id_bits} gives "
                         f"{(1 << params.id_bits) - L.LPI_BASE}")


async def bring_up(params, devices, events, bus=None):
    """Bring an ITS up with the driver (on ``bus``, default a new model) and map the
    scripted devices.

    Collection ``c`` goes to CPU ``c`` (MAPC + INVALL + SYNC, as Linux boots);
    device ``d`` in ``0..devices-1`` gets an ITT for ``events`` events, and
    event ``e`` becomes LPI :func:`scripted_lpi` on collection
    :func:`scripted_collection` (MAPTI + SYNC each, as Linux maps).

    Returns
    -------
    (ModelBus, ItsDriver)

    Raises
    ------
    ValueError
        When the devices, events or LPIs do not fit ``params``.
    """
    check_fits(params, devices, events)
    bus = ModelBus.create(params) if bus is None else bus
    driver = ItsDriver(bus)
    await driver.probe()
    cpus = params.num_redistributors
    await driver.init_cpus(cpus)
    event_bits = max(1, (events - 1).bit_length())
    for device_id in range(devices):
        await driver.map_device(device_id, event_bits)
        for event_id in range(events):
            await driver.map_event(device_id, event_id,
                                   scripted_lpi(device_id, event_id, events),
                                   scripted_collection(device_id, event_id, cpus))
    return bus, driver


def strays(params, devices, events):
    """The misbehaving MSIs of the demo: (DeviceID, EventID) the ITS must drop."""
    event_bits = max(1, (events - 1).bit_length())
    return [
        (devices, 0),                      # a device nobody mapped
        (0, 1 << event_bits),              # an EventID beyond the device's ITT
        (1 << params.device_bits, 0),      # a DeviceID beyond Devbits
    ]
