import Testing

extension Tag {
    @Tag static var replay: Self
    @Tag static var state: Self
    @Tag static var json: Self
}
