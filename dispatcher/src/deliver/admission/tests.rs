use super::*;

#[test]
fn parked_jobs_are_spaced_by_the_service_rate() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    // (next, service time, max in flight) -> (slot, next)
    let cases = [
        (
            None,
            ms(100),
            16,
            t0 + MIN_PARK,
            t0 + MIN_PARK + ms(100) / 16,
        ),
        (Some(t0), ms(100), 1, t0 + MIN_PARK, t0 + MIN_PARK + ms(100)),
        (
            Some(t0 + ms(5000)),
            ms(10_000),
            10,
            t0 + ms(5000),
            t0 + ms(6000),
        ),
        (Some(t0 + ms(5000)), ms(10), 0, t0 + ms(5000), t0 + ms(5010)),
    ];
    for (next, service_time, max, slot, new_next) in cases {
        let mut queue = ParkQueue { next, service_time };
        assert_eq!(queue.take_slot(t0, max), slot);
        assert_eq!(queue.next, Some(new_next));
    }
}

#[test]
fn the_waiting_room_holds_about_a_second_of_work() {
    let ms = Duration::from_millis;
    let cases = [
        (16, ms(10_000), 1), // hanging endpoint: it starts one job a second at most
        (16, ms(2000), 8),
        (16, ms(1000), 16),
        (16, ms(100), 160),
        (16, ms(10), 1600),
        (16, ms(1), 1600), // capped at 100 per permit
        (4, Duration::ZERO, 400),
        (1, ms(300), 3),
    ];
    for (max, service, cap) in cases {
        assert_eq!(waiter_cap(max, service), cap, "{max} {service:?}");
    }
}

#[test]
fn a_thousand_parks_behind_a_hanging_endpoint_spread_over_its_service_time() {
    let t0 = Instant::now();
    let mut queue = ParkQueue {
        next: None,
        service_time: Duration::from_secs(10),
    };
    let mut last = t0;
    for _ in 0..1000 {
        let slot = queue.take_slot(t0, 16);
        assert!(slot >= last);
        last = slot;
    }
    // 999 gaps of 10 s / 16 after the first slot.
    assert_eq!(last - t0, MIN_PARK + Duration::from_millis(625) * 999);
}
